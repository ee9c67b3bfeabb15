//! The top bar: the brand; the member, the live balance, a payment's note and Log out; the language
//! switch; the connection indicator.

use eframe::egui::{Frame, Margin, Panel, RichText, Sides, Ui};

use super::indicator::Indicator;
use super::{Intent, View, repaint_at, theme};
use crate::texts::Lang;

/// How long a payment's note stays beside the balance.
const NOTE_MS: i64 = 6000;

pub fn show(ui: &mut Ui, view: &View, lang: &mut Lang, intents: &mut Vec<Intent>) {
    Panel::top("top_bar")
        .frame(
            Frame::new()
                .fill(theme::TOP_BAR)
                .inner_margin(Margin::symmetric(18, 10)),
        )
        .show(ui, |ui| {
            Sides::new().height(32.0).show(
                ui,
                |ui| {
                    ui.label(
                        RichText::new("CyberHub")
                            .size(20.0)
                            .color(theme::STRONG)
                            .extra_letter_spacing(0.6),
                    );
                },
                // Right to left: the indicator is the rightmost.
                |ui| {
                    Indicator::of(view.model, view.t).show(ui);
                    ui.add_space(12.0);
                    language_switch(ui, lang);
                    ui.add_space(12.0);
                    if view.model.signed_in {
                        member(ui, view, intents);
                    }
                },
            );
        });
}

fn member(ui: &mut Ui, view: &View, intents: &mut Vec<Intent>) {
    let t = view.t;
    if ui.add(theme::link(t.log_out, theme::ACCENT)).clicked() {
        intents.push(Intent::SignOut);
    }
    if let Some(payment) = &view.model.payment {
        let shown_ms = payment.at.elapsed().as_millis() as i64;
        if shown_ms < NOTE_MS {
            let amount = view.money(payment.amount);
            let ((fill, text), words) = if payment.topup {
                (theme::NOTE_TOPUP, (t.topped_up)(&amount))
            } else {
                (theme::NOTE_REFUND, (t.refunded)(&amount))
            };
            Frame::new()
                .fill(fill)
                .corner_radius(10)
                .inner_margin(Margin::symmetric(8, 2))
                .show(ui, |ui| {
                    ui.label(RichText::new(words).size(13.0).color(text))
                });
            repaint_at(ui, view.now_ms, view.now_ms + NOTE_MS - shown_ms);
        }
    }
    let balance = view
        .model
        .balance()
        .map_or_else(|| "…".to_owned(), |b| view.money(b));
    ui.label(RichText::new(balance).size(18.0).color(theme::STRONG));
    if let Some(me) = &view.model.me.data {
        ui.label(RichText::new(&me.username).color(theme::TEXT));
    }
}

/// "RU | EN", drawn right to left; the chosen language is bright.
fn language_switch(ui: &mut Ui, lang: &mut Lang) {
    let names = lang.texts().language_names;
    for (i, (choice, name)) in names.iter().rev().enumerate() {
        if i > 0 {
            ui.label(RichText::new("|").size(13.0).color(theme::MUTED));
        }
        let colour = if choice == lang {
            theme::STRONG
        } else {
            theme::MUTED
        };
        let code = choice.code().to_uppercase();
        if ui
            .add(theme::link(code, colour))
            .on_hover_text(*name)
            .clicked()
        {
            *lang = *choice;
            // This frame was laid out in the old language: draw the next at once.
            ui.ctx().request_repaint();
        }
    }
}
