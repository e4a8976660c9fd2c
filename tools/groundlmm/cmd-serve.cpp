// groundlmm serve: attend-and-segment over HTTP. Loads the models once and answers POST /ground (result.json,
// optional overlay and HTML), POST /attend (stage 1 with the maps inline) and GET /health, one inference at a
// time from a bounded queue (docs/server.md). SIGINT/SIGTERM stop it gracefully: no new requests, waiting ones
// answered 503, the running one finished; a second signal exits at once.
#include "cli-common.h"
#include "common.h"
#include "serve-http.h"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

#include <pthread.h>
#include <unistd.h>

int cmd_serve(int argc, char ** argv) {
    CLI::App          app("Serve attend-and-segment over HTTP (GET / the page, GET /props, GET /health, POST /ground, POST /attend, POST /segment)", argv[0]);
    cli_model_opts    mo;
    glm::serve_params sp;
    mo.add(app, /*require_model=*/true);
    mo.add_refiner(app);
    app.add_option("--host", sp.host, "address to listen on")->capture_default_str();
    app.add_option("--port", sp.port, "port to listen on (0 = any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
    app.add_option("--queue", sp.queue, "requests that may wait for the models; more are refused with 503")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 16));
    app.add_option("--max-image-mb", sp.max_image_mb, "largest encoded image accepted (MiB); larger bodies get 413")
        ->capture_default_str()
        ->check(CLI::Range(0.001, 4096.0));
    app.add_option("--max-image-px", sp.max_image_pixels, "largest decoded image accepted (width x height)")
        ->capture_default_str()
        ->check(CLI::Range((int64_t) 1, (int64_t) 1 << 40));
    app.add_option("--timeout-s", sp.timeout_s, "longest a request waits for its reply, queue included (503 after)")
        ->capture_default_str()
        ->check(CLI::Range(0.001, 1e9));
    app.add_option("--request-timeout-s", sp.request_timeout_s,
                   "longest a client may take to send one whole request, head and body (408 after)")
        ->capture_default_str()
        ->check(CLI::Range(0.001, 1e6));
    app.add_option("--idle-timeout-s", sp.idle_timeout_s, "an open connection with no request under way is closed after this")
        ->capture_default_str()
        ->check(CLI::Range(0.001, 1e6));
    app.add_option("--max-conns", sp.max_connections, "open connections; more are answered 503 and closed")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 16));
    app.add_option("--http-threads", sp.http_threads, "request parsing threads (JSON, base64, image check; 0 = 2)")
        ->capture_default_str()
        ->check(CLI::Range(0, 256));
    double segment_cache_mb = 512;
    int    segment_cache_n  = 32;
    app.add_option("--segment-cache-mb", segment_cache_mb,
                   "POST /segment's cache of image embeddings (MiB; least recently used evicted first)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1048576.0));
    app.add_option("--segment-cache-n", segment_cache_n, "and at most this many images in it")
        ->capture_default_str()
        ->check(CLI::Range(0, 4096));
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    if (mo.refiner.empty() && mo.sam_path.empty()) {
        glm::fail("no refiner: give --sam sam.gguf, or --refiner region (toy world) or --refiner none (points only)");
    }

    // SIGINT/SIGTERM are taken by this thread with sigwait, never by a handler: block them before any thread
    // (ggml's, libllama's, the server's) exists so that every thread inherits the mask.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the server

    glm::log_route_ggml(mo.verbose);
    if (mo.verbose) {
        glm::log_set_level(glm::log_level::debug);
    }
    glm::serve_model_params mp;
    mp.model   = mo.model_params();
    mp.context = mo.context_params();
    mp.segment_cache_mb      = segment_cache_mb;
    mp.segment_cache_entries = segment_cache_n;
    glm::serve_engine engine(mp);
    glm::serve_server server(engine, sp);
    const int         port = server.start();
    fprintf(stderr, "groundlmm serve: listening on http://%s:%d (refiner %s, queue %d, backend %s); Ctrl-C stops\n",
            sp.host.c_str(), port, engine.info()["refiner"].get<std::string>().c_str(), sp.queue,
            engine.info()["backend"].get<std::string>().c_str());

    int             sig = 0;
    const timespec  poll = { 1, 0 };
    while (server.running()) {
        siginfo_t info;
        sig = sigtimedwait(&sigs, &info, &poll);
        if (sig > 0) {
            break;
        }
    }
    if (sig <= 0) {
        fprintf(stderr, "groundlmm serve: the HTTP listener stopped\n");
        server.stop();
        return 1;
    }
    fprintf(stderr, "groundlmm serve: %s: stopping (waiting requests get 503, the running one finishes; "
                    "signal again to exit at once)\n", strsignal(sig));
    std::atomic<bool> stopped{ false };
    std::thread       stopper([&] {
        server.stop();
        stopped = true;
    });
    const timespec short_poll = { 0, 100 * 1000 * 1000 };
    while (!stopped) {
        siginfo_t info;
        const int again = sigtimedwait(&sigs, &info, &short_poll);
        if (again > 0) {
            fprintf(stderr, "groundlmm serve: exiting now\n");
            _exit(128 + again);
        }
    }
    stopper.join();
    const glm::serve_queue_stats s = server.stats();
    fprintf(stderr, "groundlmm serve: stopped after %llu requests (%llu refused, %llu withdrawn)\n",
            (unsigned long long) s.done, (unsigned long long) s.refused, (unsigned long long) s.withdrawn);
    return 0;
}
