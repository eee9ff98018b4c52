//! The russh handler of one connection: SSH-level access (anyone may connect: the app's
//! Log in is the account check), one session channel with a pty, and the channel's
//! bytes and sizes passed to the session task. Everything the client sends is bounded
//! here before it reaches the session.

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use russh::server::{Auth, ChannelOpenHandle, Handler, Msg, Session};
use russh::{Channel, ChannelId, Pty};
use tokio::sync::mpsc;

use super::session::{self, INPUT_CHUNK, INPUT_QUEUE, Input};
use super::{Shared, Slot};
use crate::printable;

pub struct Conn {
    shared: Arc<Shared>,
    peer: SocketAddr,
    /// Why this connection is refused (a cap was reached): told to the client, then closed.
    refused: Option<String>,
    user: String,
    channel: Option<ChannelId>,
    size: Option<(u32, u32)>,
    session: Option<mpsc::Sender<Input>>,
    kill: Option<TcpStream>,
    dropped_input: bool,
    _slot: Option<Slot>,
}

impl Conn {
    pub fn new(
        shared: Arc<Shared>,
        peer: SocketAddr,
        slot: Option<Slot>,
        refused: Option<String>,
        kill: Option<TcpStream>,
    ) -> Conn {
        Conn {
            shared,
            peer,
            refused,
            user: String::new(),
            channel: None,
            size: None,
            session: None,
            kill,
            dropped_input: false,
            _slot: slot,
        }
    }

    /// Says `message` on the channel and closes it (exit status 1).
    fn refuse(&self, channel: ChannelId, message: &str, session: &mut Session) -> Result<(), russh::Error> {
        session.data(channel, format!("authtui: {message}\r\n").into_bytes())?;
        session.exit_status_request(channel, 1)?;
        session.eof(channel)?;
        session.close(channel)
    }

    fn send(&mut self, input: Input) {
        if let Some(tx) = &self.session
            && tx.try_send(input).is_err()
            && !self.dropped_input
        {
            self.dropped_input = true;
            eprintln!(
                "authtui serve: {}: input faster than the session reads it: dropped",
                self.peer
            );
        }
    }
}

impl Handler for Conn {
    type Error = russh::Error;

    async fn auth_none(&mut self, user: &str) -> Result<Auth, Self::Error> {
        self.user = user.chars().take(64).collect();
        Ok(Auth::Accept)
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        _response: Option<russh::server::Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        self.user = user.chars().take(64).collect();
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // One session per connection.
        if self.channel.is_some() {
            return Ok(()); // dropping `reply` refuses
        }
        self.channel = Some(channel.id());
        reply.accept().await;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel != Some(channel) {
            return session.channel_failure(channel);
        }
        // Clamped by the driver (u32 in, at most 250x100 drawn).
        self.size = Some((col_width, row_height));
        session.channel_success(channel)
    }

    async fn shell_request(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        if self.channel != Some(channel) || self.session.is_some() {
            return session.channel_failure(channel);
        }
        session.channel_success(channel)?;
        if let Some(message) = self.refused.clone() {
            return self.refuse(channel, &message, session);
        }
        let Some(size) = self.size else {
            eprintln!("authtui serve: {}: no pty requested: refused", self.peer);
            return self.refuse(channel, "the app needs a terminal: connect with ssh -t", session);
        };
        let (tx, rx) = mpsc::channel(INPUT_QUEUE);
        self.session = Some(tx);
        let start = session::Start {
            handle: session.handle(),
            channel,
            peer: self.peer,
            user: std::mem::take(&mut self.user),
            size,
            kill: self.kill.take(),
        };
        tokio::spawn(session::run(Arc::clone(&self.shared), start, rx));
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let command: String = String::from_utf8_lossy(data).chars().take(80).collect();
        eprintln!(
            "authtui serve: {}: command {} refused",
            self.peer,
            printable::escape(&command)
        );
        session.channel_success(channel)?;
        self.refuse(
            channel,
            "this server runs the app only, not commands: connect with ssh -t and no command",
            session,
        )
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        self.refuse(channel, "no subsystems here", session)
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel == Some(channel) {
            for chunk in data.chunks(INPUT_CHUNK) {
                self.send(Input::Data(chunk.to_vec()));
            }
        }
        Ok(())
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel == Some(channel) {
            if self.session.is_none() {
                self.size = Some((col_width, row_height));
            }
            self.send(Input::Resize(col_width, row_height));
        }
        Ok(())
    }

    async fn channel_eof(&mut self, channel: ChannelId, _session: &mut Session) -> Result<(), Self::Error> {
        if self.channel == Some(channel) {
            // Dropping the sender ends the session once it has read what is queued
            // (never waiting here: the session's writer may be waiting on this loop).
            self.session = None;
        }
        Ok(())
    }

    async fn channel_close(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        self.channel_eof(channel, session).await
    }
}
