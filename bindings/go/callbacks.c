// C side of the job callbacks: the function table handed to bg_job_set_callbacks. Each entry
// forwards to an exported Go function; user_data is a cgo.Handle number, never a Go pointer.
#include <stdint.h>
#include <bgcopy.h>
#include "_cgo_export.h"

static void tramp_transferred(void *user_data, bg_job job) {
    goJobTransferred((uintptr_t)user_data, job);
}

static void tramp_error(void *user_data, bg_job job, const struct bg_job_error *error) {
    goJobError((uintptr_t)user_data, job, error->context, error->code, error->file_index);
}

static void tramp_modification(void *user_data, bg_job job) {
    goJobModification((uintptr_t)user_data, job);
}

static void tramp_file_transferred(void *user_data, bg_job job, uint32_t file_index) {
    goFileTransferred((uintptr_t)user_data, job, file_index);
}

static void tramp_free(void *user_data) {
    goUserDataFree((uintptr_t)user_data);
}

bg_hresult bgcopy_go_set_callbacks(bg_job job, int transferred, int error, int modification,
                                   int file_transferred, uintptr_t handle) {
    struct bg_job_callbacks cb = {0};
    if (transferred) cb.job_transferred = tramp_transferred;
    if (error) cb.job_error = tramp_error;
    if (modification) cb.job_modification = tramp_modification;
    if (file_transferred) cb.file_transferred = tramp_file_transferred;
    return bg_job_set_callbacks(job, &cb, (void *)handle, tramp_free);
}

bg_hresult bgcopy_go_get_callbacks(bg_job job, uintptr_t *out_handle, int *out_any) {
    struct bg_job_callbacks cb;
    void *user_data = 0;
    bg_hresult hr = bg_job_get_callbacks(job, &cb, &user_data);
    if (hr >= 0) {
        /* only registrations made by this package carry its trampolines */
        int ours = cb.job_transferred == tramp_transferred || cb.job_error == tramp_error ||
                   cb.job_modification == tramp_modification ||
                   cb.file_transferred == tramp_file_transferred;
        *out_any = cb.job_transferred || cb.job_error || cb.job_modification || cb.file_transferred;
        *out_handle = ours ? (uintptr_t)user_data : 0;
    }
    return hr;
}
