use std::process::ExitCode;

use clap::Parser;

use authtui::cli::{self, Cli};
use authtui::tui::wipe::WipingAllocator;

/// Freed memory is zeroed, so the copies of a password that libraries make (zxcvbn,
/// Unicode normalization, growing buffers) do not outlive them.
#[global_allocator]
static ALLOCATOR: WipingAllocator = WipingAllocator;

fn main() -> ExitCode {
    let args = Cli::parse();
    match args.command {
        Some(command) => cli::run(args.data_file.as_deref(), args.cost, args.lock_timeout, command),
        None => {
            let path = match cli::data_path(args.data_file.as_deref()) {
                Ok(path) => path,
                Err(failure) => return cli::report(failure),
            };
            let idle = (!args.idle_timeout.is_zero()).then_some(args.idle_timeout);
            // A long wait for the lock shows in the app's busy line.
            let notice = std::sync::Arc::new(authtui::tui::worker::lock_notice);
            let (service, _) = cli::open_service_with(&path, args.cost, args.lock_timeout, notice);
            match authtui::tui::run(service, idle) {
                // Ended by a signal: 128 + its number, as a shell reports it.
                Ok(()) => match authtui::tui::exit_signal() {
                    Some(signal) => ExitCode::from(u8::try_from(128 + signal).unwrap_or(1)),
                    None => ExitCode::SUCCESS,
                },
                Err(e) => {
                    eprintln!("authtui: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
