//! The window, drawn from the model each frame: the top bar, the announcements, and the page's
//! columns (the cases over the chat; the inventory, or the sign-in; the live drops), the last two
//! stacked in a narrower window. Drawing never calls the network: a click becomes an [`Intent`]
//! that the app starts after the frame.

mod banners;
mod cases;
mod chat;
mod drops;
pub mod indicator;
mod inventory;
mod sign_in;
pub mod theme;
mod top_bar;

use eframe::egui::{Align, CentralPanel, Frame, Layout, Margin, Ui, Vec2};

use crate::format::{Clock, money};
use crate::state::{Model, Problem};
use crate::texts::{Lang, Texts};

/// From this width on the window has the page's three columns.
const WIDE: f32 = 1320.0;

/// What the member asked for in this frame.
pub enum Intent {
    SignIn { username: String, password: String },
    SignOut,
    Open(i64),
    Sell(i64),
    Send(String),
    DismissBanner(i64),
}

/// The window's own state, not the server's: the language, what is being typed.
pub struct Local {
    pub lang: Lang,
    pub username: String,
    pub password: String,
    pub draft: String,
    /// A visitor pressed Open: the sign-in form takes the focus.
    pub ask_sign_in: bool,
}

/// What every part of the window draws from in one frame.
pub struct View<'a> {
    pub model: &'a Model,
    pub t: &'static Texts,
    pub clock: &'a Clock,
    pub now_ms: i64,
}

impl View<'_> {
    pub fn money(&self, kopecks: i64) -> String {
        money(kopecks, self.t.lang)
    }

    pub fn time(&self, unix_ms: i64) -> String {
        self.clock.time(unix_ms, self.t.lang)
    }

    pub fn problem(&self, problem: &Problem) -> String {
        self.t.problem(problem, self.clock)
    }
}

/// Draws the whole window; returns what the member asked for.
pub fn show(ui: &mut Ui, model: &Model, clock: &Clock, local: &mut Local) -> Vec<Intent> {
    let view = View {
        model,
        t: local.lang.texts(),
        clock,
        now_ms: clock.now_ms(),
    };
    let mut intents = Vec::new();
    top_bar::show(ui, &view, &mut local.lang, &mut intents);
    banners::show(ui, &view, &mut intents);
    CentralPanel::default()
        .frame(
            Frame::new()
                .fill(theme::BG)
                .inner_margin(Margin::same(theme::GAP as i8)),
        )
        .show(ui, |ui| {
            let size = ui.available_size();
            ui.horizontal_top(|ui| {
                ui.spacing_mut().item_spacing.x = theme::GAP;
                if size.x >= WIDE {
                    // The page's columns: the cases and the chat take twice the room of the
                    // inventory and of the feed.
                    let unit = (size.x - 2.0 * theme::GAP) / 4.0;
                    column(ui, 2.0 * unit, size.y, |ui| {
                        cases_and_chat(ui, &view, local, &mut intents);
                    });
                    column(ui, unit, size.y, |ui| {
                        member(ui, &view, size.y, local, &mut intents);
                    });
                    column(ui, unit, size.y, |ui| drops::show(ui, &view));
                } else {
                    // Narrower windows: the member's column sits over the feed, so that three
                    // case cards still fit in a row.
                    let left = (size.x - theme::GAP) * 0.6;
                    column(ui, left, size.y, |ui| {
                        cases_and_chat(ui, &view, local, &mut intents);
                    });
                    column(ui, size.x - theme::GAP - left, size.y, |ui| {
                        member(ui, &view, 0.45 * size.y, local, &mut intents);
                        ui.add_space(theme::GAP);
                        drops::show(ui, &view);
                    });
                }
            });
        });
    intents
}

/// The cases over the chat.
fn cases_and_chat(ui: &mut Ui, view: &View, local: &mut Local, intents: &mut Vec<Intent>) {
    cases::show(ui, view, local, intents);
    ui.add_space(theme::GAP);
    chat::show(ui, view, &mut local.draft, intents);
}

/// The inventory of a signed-in member (`height` high), or the sign-in form.
fn member(ui: &mut Ui, view: &View, height: f32, local: &mut Local, intents: &mut Vec<Intent>) {
    if view.model.signed_in {
        inventory::show(ui, view, height, intents);
    } else {
        sign_in::show(ui, view, local, intents);
    }
}

fn column(ui: &mut Ui, width: f32, height: f32, add_contents: impl FnOnce(&mut Ui)) {
    ui.allocate_ui_with_layout(
        Vec2::new(width, height),
        Layout::top_down(Align::Min),
        |ui| {
            ui.set_width(width);
            ui.spacing_mut().item_spacing = theme::ITEM_SPACING;
            add_contents(ui);
        },
    );
}

/// Asks for one repaint at `at_ms` (a note that fades, a mute that ends): a single wake-up, not a
/// timer.
fn repaint_at(ui: &Ui, now_ms: i64, at_ms: i64) {
    let wait = (at_ms - now_ms).max(0) as u64;
    ui.ctx()
        .request_repaint_after(std::time::Duration::from_millis(wait + 20));
}
