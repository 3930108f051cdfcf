fn main() -> std::process::ExitCode {
    payout_service::cli::main()
}
