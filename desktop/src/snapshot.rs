//! The automation hook: with `--state-file PATH` (or `CYBERHUB_DESK_STATE_FILE`) the app writes a
//! small JSON summary of what the window shows, taken from the same model in the same frame that
//! draws it, each time a frame shows something new, once that frame is on screen. Tests and
//! scripts read it back instead of assuming what the window shows:
//!
//! ```json
//! {"painted_at_ms":1796666700123,"lang":"ru","user":"alice","balance":150000,
//!  "balance_text":"1 500,00 ₽","indicator":{"colour":"green","state":"connected","transport":"sse",
//!  "label":"Онлайн: подключено по SSE","reason":null},
//!  "counts":{"cases":3,"inventory":0,"drops":5,"chat":3,"announcements":0}}
//! ```
//!
//! `painted_at_ms` is the wall clock (Unix ms) when the frame that first showed this state had been
//! painted and presented (the file is written just before the next frame, which the app asks for
//! only when the state file is on). The file is replaced whole (written aside, then renamed), so a
//! reader never sees half of it.

use std::io;
use std::path::PathBuf;

use serde::Serialize;

use crate::format::{money, now_ms};
use crate::state::Model;
use crate::texts::Lang;
use crate::ui::indicator::Indicator;

/// What the window shows, in brief.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snapshot {
    lang: &'static str,
    /// The signed-in member, once known.
    user: Option<String>,
    /// Kopecks, as in the top bar.
    balance: Option<i64>,
    balance_text: Option<String>,
    indicator: IndicatorSummary,
    counts: Counts,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
struct IndicatorSummary {
    /// `green`, `amber` or `red`.
    colour: &'static str,
    state: &'static str,
    transport: Option<&'static str>,
    /// The tooltip's first line.
    label: String,
    /// The transport's last notice, when the indicator is not green.
    reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
struct Counts {
    cases: usize,
    inventory: usize,
    drops: usize,
    chat: usize,
    announcements: usize,
}

impl Snapshot {
    pub fn of(model: &Model, lang: Lang, indicator: &Indicator) -> Snapshot {
        let len = |n: Option<usize>| n.unwrap_or(0);
        Snapshot {
            lang: lang.code(),
            user: model.me.data.as_ref().map(|me| me.username.clone()),
            balance: model.balance(),
            balance_text: model.balance().map(|b| money(b, lang)),
            indicator: IndicatorSummary {
                colour: indicator.colour.name(),
                state: model.connection.state.as_str(),
                transport: model.connection.transport.map(|t| t.as_str()),
                label: indicator.label.clone(),
                reason: indicator.reason.clone(),
            },
            counts: Counts {
                cases: len(model.cases.data.as_ref().map(Vec::len)),
                inventory: len(model.inventory.data.as_ref().map(Vec::len)),
                drops: len(model.drops.data.as_ref().map(Vec::len)),
                chat: len(model.chat.data.as_ref().map(Vec::len)),
                announcements: model.banners.len(),
            },
        }
    }
}

/// The file, what was last written to it, and what waits for its frame to be painted.
pub struct StateFile {
    path: PathBuf,
    written: Option<Snapshot>,
    pending: Option<Snapshot>,
}

#[derive(Serialize)]
struct Written<'a> {
    painted_at_ms: i64,
    #[serde(flatten)]
    snapshot: &'a Snapshot,
}

impl StateFile {
    pub fn new(path: PathBuf) -> StateFile {
        StateFile {
            path,
            written: None,
            pending: None,
        }
    }

    /// Takes the snapshot of the frame being built; true when it differs from the last one written,
    /// and so must be written once this frame is on screen (the caller asks for one more frame).
    pub fn offer(&mut self, snapshot: Snapshot) -> bool {
        if self.written.as_ref() == Some(&snapshot) {
            self.pending = None;
            return false;
        }
        self.pending = Some(snapshot);
        true
    }

    /// Writes the pending snapshot. Called before the next frame is built, when the frame that
    /// showed it has been painted and presented, so the file never runs ahead of the screen.
    pub fn flush(&mut self) -> io::Result<()> {
        let Some(snapshot) = self.pending.take() else {
            return Ok(());
        };
        let written = Written {
            painted_at_ms: now_ms(),
            snapshot: &snapshot,
        };
        let json = serde_json::to_vec(&written).map_err(io::Error::other)?;
        let aside = self.path.with_extension("new");
        std::fs::write(&aside, json)?;
        std::fs::rename(&aside, &self.path)?;
        self.written = Some(snapshot);
        Ok(())
    }
}
