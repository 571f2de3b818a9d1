/*
 * The counting window of the instructions channel (benchmarks/harness/callgrind.py), for processes run under
 * valgrind's callgrind.
 *
 * A server is started with this library in LD_PRELOAD, under callgrind with --instr-atstart=no (so that its
 * start-up runs fast, uninstrumented). In every process of the server the library keeps one thread of its own,
 * asleep in sigwaitinfo() for two signals that every other thread blocks (threads inherit the mask; gunicorn's
 * workers get their own waiting thread through pthread_atfork). On the first signal it switches instrumentation
 * on (the first time) and zeroes callgrind's counters; on the second it dumps them. So the harness opens and
 * closes a counting window around the requests it sends, from outside, without a line of the server knowing.
 * The work is done in that thread, not in a signal handler: callgrind 3.19 aborts when instrumentation is
 * switched on inside a handler, and a Python-level handler would wait for the main thread's next bytecode (up to
 * a second in gunicorn's arbiter). After acting, the thread creates the empty file
 * "<PT_WINDOW_DIR>/<zero|dump>.<pid>", so the harness knows this process has done it.
 *
 * Before it zeroes, the thread runs a full garbage collection in a Python process (through the C API, holding the
 * GIL like any thread: every thread of the server is asleep when the harness signals). CPython runs a full
 * collection only after ten collections of the middle generation, and then only when the objects promoted since
 * the last one exceed a quarter of those it kept; where the counters stand when a window opens is the heap's
 * history since start-up, inherited across gunicorn's fork. A collection after the zero would cost ~20 million
 * instructions, in the window or not for reasons that are not the request's (docs/instructions.md). After this one,
 * the window's collections follow from its own allocations. In a process that is not Python (nothing exports
 * PyGC_Collect), it does nothing.
 *
 * Child processes that count their own work (the client strategies, the core) call the pt_* functions directly
 * through ctypes, and install nothing.
 *
 * Outside valgrind the requests are no-ops and the constructor does nothing.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <dlfcn.h>
#include <valgrind/callgrind.h>

static char ack_dir[4000];
static int zero_signal, dump_signal;
static sigset_t window_signals;

void pt_window_zero(void) { CALLGRIND_ZERO_STATS; }
void pt_window_dump(void) { CALLGRIND_DUMP_STATS_AT("window"); }
void pt_instrumentation_on(void) { CALLGRIND_START_INSTRUMENTATION; }
void pt_instrumentation_off(void) { CALLGRIND_STOP_INSTRUMENTATION; }

/* A full collection, as gc.collect() runs it, when this process is a running Python. */
static void collect_garbage(void)
{
    int (*initialized)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "Py_IsInitialized");
    int (*ensure)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "PyGILState_Ensure");
    void (*release)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "PyGILState_Release");
    long (*collect)(void) = (long (*)(void))dlsym(RTLD_DEFAULT, "PyGC_Collect");
    int state;

    if (initialized == NULL || ensure == NULL || release == NULL || collect == NULL || !initialized())
        return;
    state = ensure();
    collect();
    release(state);
}

static void acknowledge(const char *what)
{
    char path[sizeof ack_dir + 64];
    int fd;

    snprintf(path, sizeof path, "%s/%s.%ld", ack_dir, what, (long)getpid());
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
}

static void *wait_for_windows(void *unused)
{
    int instrumented = 0, signum;

    (void)unused;
    for (;;) {
        signum = sigwaitinfo(&window_signals, NULL);
        if (signum == zero_signal) {
            collect_garbage();
            if (!instrumented) {
                pt_instrumentation_on();
                instrumented = 1;
            }
            pt_window_zero();
            acknowledge("zero");
        } else if (signum == dump_signal) {
            pt_window_dump();
            acknowledge("dump");
        }
    }
    return NULL;
}

static void start_waiting_thread(void)
{
    pthread_t thread;
    pthread_attr_t attributes;

    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_create(&thread, &attributes, wait_for_windows, NULL);
    pthread_attr_destroy(&attributes);
}

/* PT_WINDOW_SIGNALS is "ZERO DUMP", the two signal numbers, chosen by the harness. */
__attribute__((constructor)) static void install(void)
{
    const char *dir = getenv("PT_WINDOW_DIR"), *numbers = getenv("PT_WINDOW_SIGNALS");
    char *rest;

    if (!RUNNING_ON_VALGRIND || dir == NULL || numbers == NULL || strlen(dir) >= sizeof ack_dir)
        return;
    zero_signal = (int)strtol(numbers, &rest, 10);
    dump_signal = (int)strtol(rest, NULL, 10);
    if (zero_signal <= 0 || dump_signal <= 0)
        return;
    strcpy(ack_dir, dir);
    sigemptyset(&window_signals);
    sigaddset(&window_signals, zero_signal);
    sigaddset(&window_signals, dump_signal);
    pthread_sigmask(SIG_BLOCK, &window_signals, NULL);
    pthread_atfork(NULL, NULL, start_waiting_thread);
    start_waiting_thread();
}
