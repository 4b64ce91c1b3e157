/*===- quamba/runtime.h - the quamba runtime's C API ------------*- C -*-===*
 *
 * Load a compiled model (model.qmb), run it on the GPU (CUDA) or the CPU,
 * and, for Triton interoperability, load and launch a single kernel image
 * with Triton's kernel ABI.
 *
 * Every function returns 0 on success and a nonzero code on failure;
 * quamba_last_error() then describes the failure (thread-local).
 *
 *===----------------------------------------------------------------------===*/
#ifndef QUAMBA_RUNTIME_H
#define QUAMBA_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct quamba_session quamba_session;
typedef struct quamba_kernel quamba_kernel;

/* The message of the last failure on this thread ("" if none). */
const char *quamba_last_error(void);

/* Opens model.qmb on `device`: "auto" (CUDA when a GPU is present, else
 * CPU), "cuda" or "cpu". */
int quamba_session_open(const char *path, const char *device, quamba_session **session);
void quamba_session_close(quamba_session *session);

/* "cpu" or "cuda (<GPU name>, sm_XY)". Valid while the session is. */
const char *quamba_session_device(const quamba_session *session);
/* The width of a logits row. */
int64_t quamba_session_vocab_size(const quamba_session *session);

/* Runs the prompt (batch 1) from a fresh state; writes the last position's
 * logits (vocab_size floats) to `logits`. `count` must be 1 to 2^31 - 1 (a
 * model may take fewer: every kernel argument must fit 32 bits); a prompt
 * too long fails before anything is allocated, and token ids must be in
 * [0, vocab_size). */
int quamba_prefill(quamba_session *session, const int32_t *tokens, int64_t count,
                   float *logits);
/* One token from the session's state; writes its logits. Fails before the
 * first prefill. */
int quamba_decode(quamba_session *session, int32_t token, float *logits);

/* Greedy decoding: prefill, then `max_tokens` argmax tokens into `out`
 * (max_tokens 0: nothing is run or written). */
int quamba_generate_greedy(quamba_session *session, const int32_t *prompt, int64_t count,
                           int64_t max_tokens, int32_t *out);

/* Sampled decoding: prefill, then `max_tokens` tokens each drawn from
 * softmax(logits / temperature) cut to the top-k logits (0: no cut) and the
 * top-p nucleus (1: no cut), with `seed`; temperature 0 is greedy. The
 * draws happen where the logits are (on the GPU, inside decode's CUDA graph)
 * and are the same on every backend for the same logits. A finite
 * temperature >= 0, top_k >= 0 and top_p in (0, 1] are required. */
int quamba_generate(quamba_session *session, const int32_t *prompt, int64_t count,
                    int64_t max_tokens, float temperature, int64_t top_k, float top_p,
                    uint64_t seed, int32_t *out);

/* Triton interoperability (CUDA only). Loads a cubin or NUL-terminated PTX
 * image holding kernel `name`. */
int quamba_kernel_load(const void *image, const char *name, quamba_kernel **kernel);
/* Launches with Triton's ABI: `args` point at the visible arguments
 * (CUdeviceptr or scalar values), two null hidden scratch pointers are
 * appended; block = 32 * num_warps; `shared` bytes of dynamic shared
 * memory. Synchronizes before returning. */
int quamba_kernel_launch(quamba_kernel *kernel, const unsigned grid[3], int num_warps,
                         int shared, void **args, int num_args);
void quamba_kernel_unload(quamba_kernel *kernel);

#ifdef __cplusplus
}
#endif

#endif /* QUAMBA_RUNTIME_H */
