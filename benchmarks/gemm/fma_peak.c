/* The single-core float32 FMA peak of this machine: independent fused multiply-adds on registers only
 * (no memory traffic), with the widest vectors the CPU offers (AVX-512F, else AVX2+FMA, else scalar),
 * best of 5 timed runs. No GEMM can exceed it; benchmarks/models.py divides every program's step rate by
 * it to say how much of the core each one uses and what a target would require.
 * Prints one JSON object: {"isa": ..., "gflops": ...}.
 * Build: cc -O2 fma_peak.c   (the vector paths are compiled with target attributes and chosen at run time) */
#include <immintrin.h>
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

__attribute__((target("avx512f"))) static double run_avx512(long iterations) {
    __m512 acc[CHAINS], b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-7f);
    for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_set1_ps((float)j);
    double t0 = now();
    for (long i = 0; i < iterations; i++) {
#pragma GCC unroll 12
        for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_fmadd_ps(acc[j], b, c);
    }
    double t = now() - t0;
    for (int j = 1; j < CHAINS; j++) acc[0] = _mm512_add_ps(acc[0], acc[j]);
    sink = _mm512_reduce_add_ps(acc[0]);
    return iterations * (double)CHAINS * 16 * 2 / t;
}

__attribute__((target("avx2,fma"))) static double run_avx2(long iterations) {
    __m256 acc[CHAINS], b = _mm256_set1_ps(1.0000001f), c = _mm256_set1_ps(1e-7f);
    for (int j = 0; j < CHAINS; j++) acc[j] = _mm256_set1_ps((float)j);
    double t0 = now();
    for (long i = 0; i < iterations; i++) {
#pragma GCC unroll 12
        for (int j = 0; j < CHAINS; j++) acc[j] = _mm256_fmadd_ps(acc[j], b, c);
    }
    double t = now() - t0;
    float out[8];
    for (int j = 1; j < CHAINS; j++) acc[0] = _mm256_add_ps(acc[0], acc[j]);
    _mm256_storeu_ps(out, acc[0]);
    sink = out[0];
    return iterations * (double)CHAINS * 8 * 2 / t;
}

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
    const char *isa = __builtin_cpu_supports("avx512f") ? "avx512f"
                      : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? "avx2+fma" : "scalar";
    double best = 0;
    for (int round = 0; round < 5; round++) {
        double rate = isa[0] == 'a' && isa[3] == '5' ? run_avx512(20000000)
                      : isa[0] == 'a' ? run_avx2(20000000) : run_scalar(20000000);
        if (rate > best) best = rate;
    }
    printf("{\"isa\": \"%s\", \"gflops\": %.1f}\n", isa, best * 1e-9);
    return 0;
}
