#include "CKernels.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void sad_configure_malloc(void) {
#if defined(__GLIBC__)
    // glibc serves allocations above M_MMAP_THRESHOLD (at most 32 MiB by default) with
    // fresh mmap'ed pages and unmaps them on free. Activations of a batch of 1000 are
    // ~33 MB, so every op would pay for the kernel zeroing and faulting new pages
    // (measured: a quarter of conv2d time). Keep such buffers in the heap for reuse.
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    // Never give the heap top back: a DiT/2 training step at batch 1000 frees more than
    // 1 GiB at once, and with a 1 GiB trim threshold every step re-faulted it (measured:
    // 0.7 M extra page faults, DiT step 4.5 s instead of 3.3 s, depending on what ran
    // before in the same process). The process keeps its peak footprint instead.
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
#endif
}
