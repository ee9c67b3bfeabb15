//! The club chat on the same stream: anyone may read it, members write. A muted member sees until
//! when.

use eframe::egui::{Key, RichText, ScrollArea, TextEdit, Ui, Vec2};

use cyberhub_sdk::protocol::Role;

use super::{Intent, View, repaint_at, theme};

/// The server refuses longer messages.
const MAX_CHARS: usize = 500;

pub fn show(ui: &mut Ui, view: &View, draft: &mut String, intents: &mut Vec<Intent>) {
    let t = view.t;
    let model = view.model;
    let height = ui.available_height();
    theme::panel(ui, t.chat_title, None, Some(height), |ui| {
        if let Some(problem) = &model.chat.error {
            theme::error(ui, view.problem(problem));
        }
        // The messages take what the input, a mute and an error leave.
        let muted = model.muted_at(view.now_ms);
        let notes = usize::from(model.chat_error.is_some()) + usize::from(muted.is_some());
        let reserved = 40.0 + 24.0 * notes as f32;
        match &model.chat.data {
            None if model.chat.error.is_none() => theme::muted(ui, t.loading),
            None => {}
            Some(messages) if messages.is_empty() => theme::muted(ui, t.chat_empty),
            Some(messages) => {
                ScrollArea::vertical()
                    .id_salt("chat")
                    .max_height((ui.available_height() - reserved).max(40.0))
                    .auto_shrink([false, true])
                    .stick_to_bottom(true)
                    .show(ui, |ui| {
                        for message in messages {
                            let name = if message.role == Role::Admin {
                                theme::GOLD
                            } else {
                                theme::STRONG
                            };
                            theme::line(
                                ui,
                                &[
                                    (&view.time(message.sent_at), 12.0, theme::MUTED),
                                    (" ", 13.5, theme::TEXT),
                                    (&message.username, 13.5, name),
                                    (" ", 13.5, theme::TEXT),
                                    (&message.text, 13.5, theme::TEXT),
                                ],
                            );
                        }
                    });
            }
        }
        // The input sits at the bottom of the panel.
        ui.add_space((ui.available_height() - reserved).max(0.0));
        if let Some(mute) = muted {
            let until = view.clock.moment(mute.until, t.lang);
            theme::error(ui, (t.muted)(&until, mute.reason.as_deref()));
            // Sending opens again by itself when the mute ends.
            repaint_at(ui, view.now_ms, mute.until);
        }
        if let Some(problem) = &model.chat_error {
            theme::error(ui, view.problem(problem));
        }
        if !model.signed_in {
            ui.label(RichText::new(t.sign_in_to_write).color(theme::MUTED));
            return;
        }
        ui.horizontal(|ui| {
            let can_send = muted.is_none() && !model.busy.sending;
            let button_width = 110.0;
            let input = ui.add(
                TextEdit::singleline(draft)
                    .hint_text(t.chat_placeholder)
                    .char_limit(MAX_CHARS)
                    .desired_width(ui.available_width() - button_width - 8.0)
                    .margin(Vec2::new(8.0, 6.0)),
            );
            let entered = input.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            let button = theme::accent_button(t.send).min_size(Vec2::new(button_width, 30.0));
            let clicked = ui.add_enabled(can_send, button).clicked();
            if (clicked || entered) && can_send && !draft.trim().is_empty() {
                intents.push(Intent::Send(std::mem::take(draft)));
                // Keep typing: the field keeps the focus after Enter.
                input.request_focus();
            }
        });
    });
}
