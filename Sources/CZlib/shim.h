// zlib, for gzip-compressed datasets (MNIST-format .gz files).
#include <zlib.h>
