//! Announcements: a violet band under the top bar per announcement (the newest first), until the
//! member closes it.

use eframe::egui::{Frame, Margin, Panel, RichText, Sides, Stroke, TextWrapMode, Ui};

use super::{Intent, View, theme};

pub fn show(ui: &mut Ui, view: &View, intents: &mut Vec<Intent>) {
    if view.model.banners.is_empty() {
        return;
    }
    Panel::top("banners")
        .frame(
            Frame::new()
                .fill(theme::BANNER)
                .stroke(Stroke::new(1.0, theme::ACCENT))
                .inner_margin(Margin::symmetric(18, 8)),
        )
        .show(ui, |ui| {
            for banner in &view.model.banners {
                Sides::new()
                    .shrink_left()
                    .wrap_mode(TextWrapMode::Wrap)
                    .show(
                        ui,
                        |ui| {
                            ui.label(
                                RichText::new(view.t.announcement)
                                    .color(theme::STRONG)
                                    .size(15.0),
                            );
                            ui.label(RichText::new(&banner.text).color(theme::TEXT).size(15.0));
                        },
                        |ui| {
                            if ui.add(theme::link("×", theme::MUTED)).clicked() {
                                intents.push(Intent::DismissBanner(banner.id));
                            }
                        },
                    );
            }
        });
}
