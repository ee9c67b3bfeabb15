//! The live drop feed: everyone's wins as they happen, newest first, coloured by rarity.

use eframe::egui::{ScrollArea, Ui};

use super::{View, theme};

pub fn show(ui: &mut Ui, view: &View) {
    let t = view.t;
    let drops = &view.model.drops;
    let height = ui.available_height();
    theme::panel(ui, t.drops_title, None, Some(height), |ui| {
        if let Some(problem) = &drops.error {
            theme::error(ui, view.problem(problem));
        }
        let Some(list) = &drops.data else {
            if drops.error.is_none() {
                theme::muted(ui, t.loading);
            }
            return;
        };
        if list.is_empty() {
            theme::muted(ui, t.drops_empty);
        }
        ScrollArea::vertical()
            .id_salt("drops")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for drop in list {
                    let d = &drop.drop;
                    let from = (t.drop_from)(&d.case, &view.money(d.value));
                    theme::line(
                        ui,
                        &[
                            (&view.time(drop.at), 12.0, theme::MUTED),
                            (" ", 13.0, theme::TEXT),
                            (&d.username, 13.0, theme::STRONG),
                            (&format!(" {} ", t.drop_won), 13.0, theme::MUTED),
                            (&d.item, 13.0, theme::rarity(d.rarity)),
                            (" ", 13.0, theme::TEXT),
                            (&from, 13.0, theme::MUTED),
                        ],
                    );
                    theme::row_line(ui);
                }
            });
    });
}
