/// mimalloc instead of glibc's malloc: the request path allocates small, short-lived buffers
/// (headers, JSON, log lines), and glibc's allocator was 11% of the service's CPU on `GET
/// /api/me` (bench/run's profile, issue 15).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let code = payout_service::cli::main();
    // Log lines still gathered in memory are written before the process ends.
    payout_service::telemetry::flush();
    code
}
