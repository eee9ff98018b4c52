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
    let settings = match args.settings() {
        Ok(settings) => settings,
        Err(failure) => return cli::report(failure),
    };
    let idle = (!args.idle_timeout.is_zero()).then_some(args.idle_timeout);
    match args.command {
        Some(cli::Command::Serve(serve)) => authtui::server::run(&settings, serve, idle),
        Some(command) => cli::run(&settings, command),
        None => {
            // A long wait for the lock shows in the app's busy line.
            let notice = std::sync::Arc::new(authtui::tui::worker::lock_notice);
            for warning in authtui::setup::warnings(&settings.store) {
                eprintln!("authtui: warning: {}", authtui::printable::escape(&warning));
            }
            let service = match authtui::setup::open(&settings, notice) {
                Ok((service, _)) => service,
                Err(e) => return cli::report(cli::Failure::from(authtui::auth::AuthError::from(e))),
            };
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
