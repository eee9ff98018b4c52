//! The app as data: a `Model`, the `Msg`s that change it, and the `Cmd`s (slow work) that
//! changes ask for. `update` does no I/O, so every transition is tested without a terminal.
//!
//! Time enters as `Model::now`, which the event loop sets before each message (tests set
//! it by hand): the spinner, the lockout countdown and the idle time-out are all computed
//! from it, and `Model::next_wakeup` tells the loop when the screen next needs it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::present::{self, TimeZone};
use super::screens::change_password::ChangePassword;
use super::screens::dashboard::Dashboard;
use super::screens::delete_account::DeleteAccount;
use super::screens::login::Login;
use super::screens::signup::Signup;
use super::screens::{Action, Page, Request, form_rects};
use super::view;
use zeroize::Zeroize;

use crate::auth::{AuthError, Cost, Event, LogoutReason, Password, Session};

/// How often the spinner turns while a request runs.
pub const SPINNER_FRAME: Duration = Duration::from_millis(80);
/// A served session's spinner turns slower: over the network each frame is bytes sent
/// and CPU taken from the logins everyone is waiting for (a crowd of logins waiting in
/// the pool spent 15 % more CPU per login on their spinners at 80 ms).
pub const SERVED_SPINNER_FRAME: Duration = Duration::from_millis(250);

/// The screen shown. Each is one file in `screens/`, and the app reaches it through
/// [`Page`]: a new screen is its file, its variant here, its line in `as_page!`, and (if
/// it is opened over the Dashboard) its line in `into_dashboard`.
pub enum Screen {
    Login(Login),
    Signup(Signup),
    Dashboard(Dashboard),
    ChangePassword(ChangePassword),
    DeleteAccount(DeleteAccount),
}

/// Every screen as a [`Page`]: the one match of all the variants.
macro_rules! as_page {
    ($screen:expr) => {
        match $screen {
            Screen::Login(s) => s,
            Screen::Signup(s) => s,
            Screen::Dashboard(s) => s,
            Screen::ChangePassword(s) => s,
            Screen::DeleteAccount(s) => s,
        }
    };
}

impl Screen {
    pub fn page(&self) -> &dyn Page {
        as_page!(self)
    }

    pub fn page_mut(&mut self) -> &mut dyn Page {
        as_page!(self)
    }

    /// The Dashboard a signed-in screen is or returns to, moved out.
    fn into_dashboard(self) -> Option<Dashboard> {
        match self {
            Screen::Dashboard(d) => Some(d),
            Screen::ChangePassword(s) => Some(s.dashboard),
            Screen::DeleteAccount(s) => Some(s.dashboard),
            Screen::Login(_) | Screen::Signup(_) => None,
        }
    }

    pub fn title(&self) -> &'static str {
        self.page().title()
    }

    /// The session of a signed-in screen.
    pub fn session(&self) -> Option<&Arc<Session>> {
        self.page().dashboard().map(|d| &d.session)
    }

    pub fn form(&self) -> Option<&super::form::Form> {
        self.page().form()
    }

    fn form_mut(&mut self) -> Option<&mut super::form::Form> {
        self.page_mut().form_mut()
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
    /// A lock's end: the text is then a countdown to it.
    pub retry_at: Option<Instant>,
}

impl Banner {
    fn new(kind: BannerKind, text: impl Into<String>) -> Banner {
        Banner {
            kind,
            text: text.into(),
            retry_at: None,
        }
    }

    pub fn error(text: impl Into<String>) -> Banner {
        Banner::new(BannerKind::Error, text)
    }

    pub fn success(text: impl Into<String>) -> Banner {
        Banner::new(BannerKind::Success, text)
    }

    pub fn info(text: impl Into<String>) -> Banner {
        Banner::new(BannerKind::Info, text)
    }

    /// What the banner says at `now`.
    pub fn text_at(&self, now: Instant) -> String {
        match self.retry_at {
            Some(at) => present::lock_countdown(present::secs_until(now, at)),
            None => self.text.clone(),
        }
    }

    /// The banner for a refused password: a lock counts down to its end.
    pub fn refused(e: &AuthError, now: Instant) -> Banner {
        match e {
            AuthError::Locked {
                until: Some(until),
                now: then,
            } => {
                let left = (*until - *then).to_std().unwrap_or_default();
                match now.checked_add(left) {
                    Some(at) => Banner {
                        retry_at: Some(at),
                        ..Banner::error("")
                    },
                    // Beyond what the clock can count down to: say so without a countdown.
                    None => Banner::error(e.to_string()),
                }
            }
            other => Banner::error(other.to_string()),
        }
    }
}

/// A request in flight on the worker thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Busy {
    pub id: u64,
    pub label: &'static str,
    pub since: Instant,
    /// Shown instead of the label: what the request waits for (a lock held elsewhere).
    pub notice: Option<String>,
}

impl Busy {
    /// The spinner's frame at `now`, turning every `period`.
    pub fn frame(&self, now: Instant, period: Duration) -> usize {
        (now.saturating_duration_since(self.since).as_millis() / period.as_millis().max(1)) as usize
    }
}

/// What the screens show of the world outside, and the settings.
#[derive(Clone, Debug)]
pub struct Context {
    pub data_file: String,
    pub cost: Cost,
    pub time_zone: TimeZone,
    /// Log out after this long without a key on a signed-in screen; `None`: never.
    pub idle_timeout: Option<Duration>,
    /// Where the session's user is (a remote address); `None`: the local terminal.
    pub peer: Option<String>,
    /// The clock the driver reads into `Model::now` before each message (`update` itself
    /// reads no clock): `Instant::now`, or a test's.
    pub clock: fn() -> Instant,
}

impl Context {
    /// How often the spinner turns: slower for a served session ([`SERVED_SPINNER_FRAME`]).
    pub fn spinner_frame(&self) -> Duration {
        if self.peer.is_some() {
            SERVED_SPINNER_FRAME
        } else {
            SPINNER_FRAME
        }
    }
}

pub struct Model {
    pub screen: Screen,
    pub banner: Option<Banner>,
    pub busy: Option<Busy>,
    pub context: Context,
    pub quit: bool,
    /// The help overlay is open.
    pub help: bool,
    /// The loop's clock reading for the message being handled.
    pub now: Instant,
    /// The terminal's size, for mouse hits (the view and the mouse share the layout).
    pub size: (u16, u16),
    /// The last key, paste or click.
    pub last_input: Instant,
    next_id: u64,
}

pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// A deadline from `next_wakeup` passed: a spinner frame, a countdown second, the idle
    /// time-out.
    Tick,
    /// A worker result, for the request with this id.
    Done {
        id: u64,
        outcome: Outcome,
        /// Activity-log writes that failed (the account change stands).
        log_failures: Vec<String>,
    },
    /// SIGTERM, SIGHUP or SIGINT.
    Signal,
    /// The request in flight waits for something (the lock): the busy line says so.
    LockWait(String),
}

/// A signed-in result: the session and the account's newest events.
pub struct Welcome {
    pub session: Session,
    pub events: Vec<Event>,
}

pub enum Outcome {
    LoggedIn(Result<Welcome, AuthError>),
    SignedUp(Result<Welcome, AuthError>),
    /// The newest events after the change.
    PasswordChanged(Result<Vec<Event>, AuthError>),
    AccountDeleted(Result<(), AuthError>),
    /// The worker hit a bug (a panic); the message says what.
    Failed(String),
    /// The pool's queue was full: the request was not run.
    Busy,
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
    ChangePassword {
        id: u64,
        session: Arc<Session>,
        current: Password,
        new: Password,
    },
    DeleteAccount {
        id: u64,
        session: Arc<Session>,
        password: Password,
    },
    Logout {
        session: Arc<Session>,
        reason: LogoutReason,
    },
}

impl Cmd {
    /// The request id a result will carry (a logout has no result).
    pub fn id(&self) -> Option<u64> {
        match self {
            Cmd::Login { id, .. }
            | Cmd::Signup { id, .. }
            | Cmd::ChangePassword { id, .. }
            | Cmd::DeleteAccount { id, .. } => Some(*id),
            Cmd::Logout { .. } => None,
        }
    }
}

/// The banner for a request the pool had no room for.
pub const BUSY: &str = "The server is busy: try again in a moment";

impl Model {
    pub fn new(context: Context, now: Instant) -> Model {
        Model {
            screen: Screen::Login(Login::default()),
            banner: None,
            busy: None,
            context,
            quit: false,
            help: false,
            now,
            size: (80, 24),
            last_input: now,
            next_id: 1,
        }
    }

    /// Asks the screen for the request its form holds, and shows it running; or shows
    /// what is wrong with the form.
    fn submit(&mut self) -> Option<Cmd> {
        let id = self.next_id;
        match self.screen.page_mut().submit(id) {
            Ok(Request { label, cmd }) => {
                self.next_id += 1;
                self.busy = Some(Busy {
                    id,
                    label,
                    since: self.now,
                    notice: None,
                });
                self.banner = None;
                Some(cmd)
            }
            Err(banner) => {
                self.banner = Some(banner);
                None
            }
        }
    }

    /// Does what a screen's key or result asks.
    fn act(&mut self, action: Action) -> Option<Cmd> {
        match action {
            Action::None => None,
            Action::Submit => self.submit(),
            Action::Banner(banner) => {
                self.banner = Some(banner);
                None
            }
            Action::Show(screen, banner) => {
                self.go_to(*screen, banner);
                None
            }
            Action::Open(make, banner) => {
                // Only a signed-in screen opens one over its Dashboard.
                self.screen.session()?;
                let placeholder = Screen::Login(Login::default());
                let screen = std::mem::replace(&mut self.screen, placeholder);
                if let Some(dashboard) = screen.into_dashboard() {
                    self.go_to(make(dashboard), banner);
                }
                None
            }
            Action::LogOut => log_out(self, LogoutReason::User, Some(Banner::info("Logged out"))),
            Action::Quit => {
                self.quit = true;
                log_out(self, LogoutReason::User, None)
            }
        }
    }

    fn go_to(&mut self, screen: Screen, banner: Option<Banner>) {
        // Replacing the screen drops the old one, and with it any password (wiped on drop).
        self.screen = screen;
        self.banner = banner;
        self.help = false;
    }

    /// Does the work put off while keys arrive (the strength meter), so that a key press
    /// costs microseconds. The loop calls this when no input is waiting; so do tests.
    pub fn settle(&mut self) {
        self.screen.page_mut().settle();
    }

    /// When idle time-out ends the session, if it applies now.
    pub fn idle_deadline(&self) -> Option<Instant> {
        let timeout = self.context.idle_timeout?;
        self.screen.session()?;
        // A deadline past what the clock can hold never comes.
        self.last_input.checked_add(timeout)
    }

    /// When the loop must wake without input: the next spinner frame, the next second of
    /// a countdown, the idle deadline. `None`: sleep until something happens.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let spinner = self.busy.as_ref().and_then(|b| {
            let period = self.context.spinner_frame();
            let frames = u32::try_from(b.frame(self.now, period)).ok()?.checked_add(1)?;
            b.since.checked_add(period.checked_mul(frames)?)
        });
        let countdown = self.banner.as_ref().and_then(|b| b.retry_at).map(|at| {
            // The shown number is the seconds left rounded up; it next changes a whole
            // number of seconds before `at`.
            let shown = present::secs_until(self.now, at);
            at.checked_sub(Duration::from_secs((shown - 1).max(0) as u64))
                .unwrap_or(at)
        });
        [spinner, countdown, self.idle_deadline()]
            .into_iter()
            .flatten()
            .min()
    }
}

pub fn update(model: &mut Model, msg: Msg) -> Option<Cmd> {
    match msg {
        Msg::Signal => {
            model.quit = true;
            log_out(model, LogoutReason::User, None)
        }
        Msg::Resize(w, h) => {
            model.size = (w, h);
            None
        }
        Msg::Tick => tick(model),
        Msg::LockWait(text) => {
            if let Some(busy) = &mut model.busy {
                busy.notice = Some(text);
            }
            None
        }
        Msg::Done {
            id,
            outcome,
            log_failures,
        } => {
            let cmd = done(model, id, outcome);
            if let Some(failure) = log_failures.into_iter().next() {
                model.banner = Some(Banner::error(capitalize(&failure)));
            }
            cmd
        }
        Msg::Paste(mut text) => {
            model.last_input = model.now;
            if model.busy.is_none() && !model.help {
                model.screen.page_mut().paste(&text);
            }
            // The pasted text may be a password: its only copy is wiped here.
            text.zeroize();
            None
        }
        Msg::Mouse(mouse) => on_mouse(model, mouse),
        Msg::Key(key) => on_key(model, key),
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

fn tick(model: &mut Model) -> Option<Cmd> {
    if let Some(banner) = &model.banner
        && let Some(at) = banner.retry_at
        && model.now >= at
    {
        model.banner = Some(Banner::info("You can try again now"));
    }
    if model.busy.is_none()
        && let Some(deadline) = model.idle_deadline()
        && model.now >= deadline
    {
        let after = present::wait(model.context.idle_timeout.unwrap_or_default());
        let banner = Banner::info(format!("Logged out after {after} of inactivity"));
        return log_out(model, LogoutReason::Idle, Some(banner));
    }
    None
}

fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL)
}

fn opens_help(model: &Model, key: &KeyEvent) -> bool {
    if key.code == KeyCode::F(1) {
        return true;
    }
    // '?' is a character like any other in a text field.
    key.code == KeyCode::Char('?')
        && model
            .screen
            .form()
            .is_none_or(|form| form.focused_field().is_none())
}

fn on_key(model: &mut Model, key: KeyEvent) -> Option<Cmd> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    model.last_input = model.now;
    if is_ctrl_c(&key) {
        model.quit = true;
        return log_out(model, LogoutReason::User, None);
    }
    // While a request runs, only quitting is possible: no double submit, no edits to a
    // form whose values are already in flight.
    if model.busy.is_some() {
        return None;
    }
    if model.help {
        if matches!(
            key.code,
            KeyCode::Esc | KeyCode::F(1) | KeyCode::Char('?') | KeyCode::Enter
        ) {
            model.help = false;
        }
        return None;
    }
    if opens_help(model, &key) {
        model.help = true;
        return None;
    }
    let action = model.screen.page_mut().on_key(key);
    model.act(action)
}

/// A click focuses a field or presses a button.
fn on_mouse(model: &mut Model, mouse: MouseEvent) -> Option<Cmd> {
    if mouse.kind != MouseEventKind::Down(MouseButton::Left) {
        return None;
    }
    model.last_input = model.now;
    if model.busy.is_some() || model.help {
        return None;
    }
    let card = view::card_area(model.size, &model.screen)?;
    let form = model.screen.form()?;
    let rects = form_rects(card, form);
    let hit = |r: &ratatui::layout::Rect| r.contains(ratatui::layout::Position::new(mouse.column, mouse.row));
    if let Some(field) = rects.fields.iter().position(hit) {
        model.screen.form_mut()?.set_focus(field);
        return None;
    }
    let button = rects.buttons.iter().position(hit)?;
    let fields = form.fields.len();
    model.screen.form_mut()?.set_focus(fields + button);
    // Pressing a button is Enter on it.
    on_key(model, KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
}

/// Ends the session of a signed-in screen (if any) and shows Log in.
fn log_out(model: &mut Model, reason: LogoutReason, banner: Option<Banner>) -> Option<Cmd> {
    let session = Arc::clone(model.screen.session()?);
    model.go_to(Screen::Login(Login::default()), banner);
    Some(Cmd::Logout { session, reason })
}

fn done(model: &mut Model, id: u64, outcome: Outcome) -> Option<Cmd> {
    if model.quit || model.busy.as_ref().map(|b| b.id) != Some(id) {
        // A result nobody is waiting for (its screen is gone, or the app is quitting: a
        // signal came while bcrypt ran): a session in it is ended.
        return match outcome {
            Outcome::LoggedIn(Ok(welcome)) | Outcome::SignedUp(Ok(welcome)) => Some(Cmd::Logout {
                session: Arc::new(welcome.session),
                reason: LogoutReason::User,
            }),
            _ => None,
        };
    }
    model.busy = None;
    model.last_input = model.now;
    match outcome {
        Outcome::Failed(why) => {
            model.banner = Some(Banner::error(format!("Internal error: {why}")));
            None
        }
        Outcome::Busy => {
            // The password was taken from its field and dropped (wiped) with the request:
            // the user enters it again.
            if let Some(form) = model.screen.form_mut() {
                form.focus_first_empty();
            }
            model.banner = Some(Banner::error(BUSY));
            None
        }
        outcome => {
            let now = model.now;
            let action = model.screen.page_mut().on_result(outcome, now);
            model.act(action)
        }
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
