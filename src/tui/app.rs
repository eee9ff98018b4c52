//! The app as data: a `Model`, the `Msg`s that change it, and the `Cmd`s (slow work) that
//! changes ask for. `update` does no I/O, so every transition is tested without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::screens::dashboard::{Dashboard, DashboardAction, TimeZone};
use super::screens::login::{self, LoginAction, LoginScreen};
use super::screens::signup::{self, SignupAction, SignupScreen};
use crate::auth::{AuthError, Cost, Password, Session, locked_message};

pub enum Screen {
    Login(LoginScreen),
    Signup(SignupScreen),
    Dashboard(Dashboard),
}

impl Screen {
    pub fn title(&self) -> &'static str {
        match self {
            Screen::Login(_) => LoginScreen::TITLE,
            Screen::Signup(_) => SignupScreen::TITLE,
            Screen::Dashboard(_) => Dashboard::TITLE,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BannerKind {
    Error,
    Success,
    Info,
}

/// One line at a fixed place, in place of the prototype's flash messages. Cleared by the
/// next submit or screen change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Banner {
    pub kind: BannerKind,
    pub text: String,
}

impl Banner {
    pub fn error(text: impl Into<String>) -> Banner {
        Banner {
            kind: BannerKind::Error,
            text: text.into(),
        }
    }

    pub fn success(text: impl Into<String>) -> Banner {
        Banner {
            kind: BannerKind::Success,
            text: text.into(),
        }
    }

    pub fn info(text: impl Into<String>) -> Banner {
        Banner {
            kind: BannerKind::Info,
            text: text.into(),
        }
    }
}

/// A request in flight on the worker thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Busy {
    pub id: u64,
    pub label: &'static str,
    /// Spinner frame, advanced by ticks.
    pub frame: usize,
}

/// What the screens show of the world outside.
#[derive(Clone, Debug)]
pub struct Context {
    pub data_file: String,
    pub cost: Cost,
    pub time_zone: TimeZone,
}

pub struct Model {
    pub screen: Screen,
    pub banner: Option<Banner>,
    pub busy: Option<Busy>,
    pub context: Context,
    pub quit: bool,
    next_id: u64,
}

pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    Resize,
    /// Animation tick; sent only while something animates.
    Tick,
    /// A worker result, for the request with this id.
    Done(u64, Outcome),
    /// SIGTERM, SIGHUP or SIGINT.
    Signal,
}

pub enum Outcome {
    LoggedIn(Result<Session, AuthError>),
    SignedUp(Result<Session, AuthError>),
    /// The worker hit a bug (a panic); the message says what.
    Failed(String),
}

/// Slow work for the worker thread.
pub enum Cmd {
    Login {
        id: u64,
        username: String,
        password: Password,
    },
    Signup {
        id: u64,
        username: String,
        password: Password,
    },
    Logout(Session),
}

impl Model {
    pub fn new(context: Context) -> Model {
        Model {
            screen: Screen::Login(LoginScreen::new()),
            banner: None,
            busy: None,
            context,
            quit: false,
            next_id: 1,
        }
    }

    fn start(&mut self, label: &'static str) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.busy = Some(Busy { id, label, frame: 0 });
        self.banner = None;
        id
    }

    fn go_to(&mut self, screen: Screen, banner: Option<Banner>) {
        // Replacing the screen drops the old one, and with it any password (wiped on drop).
        self.screen = screen;
        self.banner = banner;
    }
}

pub fn update(model: &mut Model, msg: Msg) -> Option<Cmd> {
    match msg {
        Msg::Signal => {
            model.quit = true;
            logout_if_signed_in(model)
        }
        Msg::Resize => None,
        Msg::Tick => {
            if let Some(busy) = &mut model.busy {
                busy.frame = busy.frame.wrapping_add(1);
            }
            None
        }
        Msg::Done(id, outcome) => done(model, id, outcome),
        Msg::Paste(text) => {
            if model.busy.is_none() {
                match &mut model.screen {
                    Screen::Login(s) => s.form.paste(&text),
                    Screen::Signup(s) => s.form.paste(&text),
                    Screen::Dashboard(_) => {}
                }
            }
            None
        }
        Msg::Key(key) => on_key(model, key),
    }
}

fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL)
}

fn on_key(model: &mut Model, key: KeyEvent) -> Option<Cmd> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if is_ctrl_c(&key) {
        model.quit = true;
        return logout_if_signed_in(model);
    }
    // While a request runs, only quitting is possible: no double submit, no edits to a
    // form whose values are already in flight.
    if model.busy.is_some() {
        return None;
    }
    match &mut model.screen {
        Screen::Login(screen) => match screen.on_key(key) {
            LoginAction::None => None,
            LoginAction::Quit => {
                model.quit = true;
                None
            }
            LoginAction::OpenSignup => {
                model.go_to(Screen::Signup(SignupScreen::new()), None);
                None
            }
            LoginAction::Submit => submit_login(model),
        },
        Screen::Signup(screen) => match screen.on_key(key) {
            SignupAction::None => None,
            SignupAction::Back => {
                model.go_to(Screen::Login(LoginScreen::new()), None);
                None
            }
            SignupAction::Submit => submit_signup(model),
        },
        Screen::Dashboard(dashboard) => match dashboard.on_key(key) {
            DashboardAction::None => None,
            DashboardAction::LogOut => log_out(model, Some(Banner::info("Logged out"))),
            DashboardAction::LogOutAndQuit => {
                model.quit = true;
                log_out(model, None)
            }
        },
    }
}

fn submit_login(model: &mut Model) -> Option<Cmd> {
    let Screen::Login(screen) = &mut model.screen else {
        return None;
    };
    let problem = if screen.username().trim().is_empty() {
        Some(("Enter your username", login::USERNAME))
    } else if screen.form.field(login::PASSWORD).is_empty() {
        Some(("Enter your password", login::PASSWORD))
    } else {
        None
    };
    if let Some((text, field)) = problem {
        screen.form.focus_field(field);
        model.banner = Some(Banner::error(text));
        return None;
    }
    let username = screen.username().trim().to_owned();
    let password = screen.take_password();
    let id = model.start("Logging in");
    Some(Cmd::Login {
        id,
        username,
        password,
    })
}

fn submit_signup(model: &mut Model) -> Option<Cmd> {
    let Screen::Signup(screen) = &mut model.screen else {
        return None;
    };
    if let Some(first) = screen.validate() {
        model.banner = Some(Banner::error(first));
        return None;
    }
    let username = screen.username().trim().to_owned();
    let password = screen.take_password();
    let id = model.start("Creating account");
    Some(Cmd::Signup {
        id,
        username,
        password,
    })
}

fn log_out(model: &mut Model, banner: Option<Banner>) -> Option<Cmd> {
    let old = std::mem::replace(&mut model.screen, Screen::Login(LoginScreen::new()));
    model.banner = banner;
    match old {
        Screen::Dashboard(d) => Some(Cmd::Logout(d.session)),
        other => {
            model.screen = other;
            None
        }
    }
}

fn logout_if_signed_in(model: &mut Model) -> Option<Cmd> {
    match model.screen {
        Screen::Dashboard(_) => log_out(model, None),
        _ => None,
    }
}

fn done(model: &mut Model, id: u64, outcome: Outcome) -> Option<Cmd> {
    if model.busy.as_ref().map(|b| b.id) != Some(id) {
        // A result nobody is waiting for (its screen is gone): a session in it is ended.
        return match outcome {
            Outcome::LoggedIn(Ok(session)) | Outcome::SignedUp(Ok(session)) => Some(Cmd::Logout(session)),
            _ => None,
        };
    }
    model.busy = None;
    match outcome {
        Outcome::LoggedIn(Ok(session)) => {
            model.go_to(Screen::Dashboard(Dashboard { session }), None);
        }
        Outcome::SignedUp(Ok(session)) => {
            model.go_to(
                Screen::Dashboard(Dashboard { session }),
                Some(Banner::success("Account created")),
            );
        }
        Outcome::LoggedIn(Err(e)) => {
            if let Screen::Login(screen) = &mut model.screen {
                screen.take_password();
                screen.form.focus_field(login::PASSWORD);
            }
            model.banner = Some(Banner::error(login_error_text(&e)));
        }
        Outcome::SignedUp(Err(e)) => {
            let text = e.to_string();
            if let Screen::Signup(screen) = &mut model.screen {
                let field = match e {
                    AuthError::UsernameTaken(_) | AuthError::Username(_) => Some(signup::USERNAME),
                    AuthError::Policy(_) => Some(signup::PASSWORD),
                    _ => None,
                };
                if let Some(field) = field {
                    screen.form.set_error(field, text.clone());
                    screen.form.focus_field(field);
                }
            }
            model.banner = Some(Banner::error(text));
        }
        Outcome::Failed(why) => model.banner = Some(Banner::error(format!("Internal error: {why}"))),
    }
    None
}

/// The banner for a failed login. A lock adds when to retry to the usual message.
fn login_error_text(e: &AuthError) -> String {
    match e {
        AuthError::Locked { until, now } => {
            format!(
                "{}. {}",
                AuthError::InvalidCredentials,
                locked_message(*until, *now)
            )
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
