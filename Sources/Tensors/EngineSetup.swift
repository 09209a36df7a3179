import CKernels
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Process-wide settings the engine applies once, before its first BLAS call.
enum EngineSetup {
    static let once: Void = {
        #if !canImport(Accelerate)
        // Parallelism is ours (over samples and networks); a threaded BLAS inside our
        // parallel loops would oversubscribe the cores.
        openblas_set_num_threads(1)
        #endif
        // Keep large activation buffers in the heap between ops (see Runtime.c).
        sad_configure_malloc()
    }()
}
