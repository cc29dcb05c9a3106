/* The single-core float32 FMA peak of this machine: independent fused multiply-adds on registers only
 * (no memory traffic), with the widest vectors the CPU offers (AVX-512F, else AVX2+FMA, else scalar),
 * best of 5 timed runs. No GEMM can exceed it; benchmarks/models.py divides every program's step rate by
 * it to say how much of the core each one uses and what a target would require.
 * Prints one JSON object: {"isa": ..., "gflops": ...}.
 * Build: cc -O2 fma_peak.c   (the vector paths are compiled with target attributes and chosen at run time) */
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Twelve independent accumulators hide the FMA latency (4 cycles) on two pipes with room to spare; the inner
 * loops are unrolled so that they stay in registers at -O2. */
#define CHAINS 12
static volatile float sink;

/* One timing body for every vector width: a GCC vector of LANES floats, compiled for TARGET; acc * b + c is
 * contracted into one fused multiply-add (GCC and Clang contract within an expression by default). */
#define FMA_PEAK(NAME, TARGET, LANES)                                                               \
    typedef float NAME##_vector __attribute__((vector_size(LANES * 4)));                            \
    __attribute__((target(TARGET))) static double NAME(long iterations) {                           \
        NAME##_vector acc[CHAINS], b, c;                                                            \
        for (int l = 0; l < LANES; l++) { b[l] = 1.0000001f; c[l] = 1e-7f; }                        \
        for (int j = 0; j < CHAINS; j++)                                                            \
            for (int l = 0; l < LANES; l++) acc[j][l] = (float)j;                                   \
        double t0 = now();                                                                          \
        for (long i = 0; i < iterations; i++) {                                                     \
            _Pragma("GCC unroll 12") for (int j = 0; j < CHAINS; j++) acc[j] = acc[j] * b + c;      \
        }                                                                                           \
        double t = now() - t0;                                                                      \
        for (int j = 1; j < CHAINS; j++) acc[0] += acc[j];                                          \
        sink = acc[0][0];                                                                           \
        return iterations * (double)CHAINS * LANES * 2 / t;                                         \
    }

FMA_PEAK(run_avx512, "avx512f", 16)
FMA_PEAK(run_avx2, "avx2,fma", 8)

static double run_scalar(long iterations) {
    float acc[CHAINS];
    for (int j = 0; j < CHAINS; j++) acc[j] = (float)j;
    double t0 = now();
    for (long i = 0; i < iterations; i++) {
#pragma GCC unroll 12
        for (int j = 0; j < CHAINS; j++) acc[j] = acc[j] * 1.0000001f + 1e-7f;
    }
    double t = now() - t0;
    sink = acc[0];
    return iterations * (double)CHAINS * 2 / t;
}

int main(void) {
    __builtin_cpu_init();
    const char *isa = "scalar";
    double (*run)(long) = run_scalar;
    if (__builtin_cpu_supports("avx512f")) {
        isa = "avx512f";
        run = run_avx512;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        isa = "avx2+fma";
        run = run_avx2;
    }
    double best = 0;
    for (int round = 0; round < 5; round++) {
        double rate = run(20000000);
        if (rate > best) best = rate;
    }
    printf("{\"isa\": \"%s\", \"gflops\": %.1f}\n", isa, best * 1e-9);
    return 0;
}
