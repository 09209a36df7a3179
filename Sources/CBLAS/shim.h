// OpenBLAS's CBLAS (which also declares openblas_set_num_threads) and LAPACKE.
#include <cblas.h>
#include <lapacke.h>
