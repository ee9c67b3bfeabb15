//! The sign-in form, in the side column while nobody is signed in. A visitor who presses Open is
//! sent here: the form takes the focus.

use eframe::egui::{Key, RichText, TextEdit, Ui, Vec2};

use super::{Intent, Local, View, theme};

pub fn show(ui: &mut Ui, view: &View, local: &mut Local, intents: &mut Vec<Intent>) {
    let t = view.t;
    let busy = view.model.busy.signing_in;
    theme::panel(ui, t.login_title, None, None, |ui| {
        let width = ui.available_width();
        let username = ui.add(
            TextEdit::singleline(&mut local.username)
                .hint_text(t.username)
                .desired_width(width)
                .margin(Vec2::new(8.0, 6.0)),
        );
        let password = ui.add(
            TextEdit::singleline(&mut local.password)
                .password(true)
                .hint_text(t.password)
                .desired_width(width)
                .margin(Vec2::new(8.0, 6.0)),
        );
        if std::mem::take(&mut local.ask_sign_in) {
            if local.username.is_empty() {
                username.request_focus();
            } else {
                password.request_focus();
            }
        }
        let entered = password.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        let label = if busy { t.signing_in } else { t.submit };
        let button = ui
            .add_enabled_ui(!busy, |ui| {
                ui.add_sized(Vec2::new(width, 32.0), theme::accent_button(label))
            })
            .inner;
        let ready = !local.username.trim().is_empty() && !local.password.is_empty();
        if (button.clicked() || entered) && ready && !busy {
            intents.push(Intent::SignIn {
                username: local.username.trim().to_owned(),
                password: std::mem::take(&mut local.password),
            });
            // A mistyped password is typed again at once.
            password.request_focus();
        }
        if let Some(problem) = &view.model.sign_in_error {
            theme::error(ui, view.problem(problem));
        }
        ui.label(RichText::new(t.newcomer).size(12.0).color(theme::MUTED));
    });
}
