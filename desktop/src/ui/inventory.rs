//! The member's inventory, newest first, with a Sell button per item.

use eframe::egui::{RichText, ScrollArea, Sides, TextWrapMode, Ui};

use super::{Intent, View, theme};
use crate::format::number;

pub fn show(ui: &mut Ui, view: &View, height: f32, intents: &mut Vec<Intent>) {
    let t = view.t;
    let inventory = &view.model.inventory;
    let count = inventory.data.as_ref().map_or(0, Vec::len) as u64;
    let badge = (number(count as i64, t.lang), (t.items)(count));
    theme::panel(ui, t.inventory_title, Some(badge), Some(height), |ui| {
        for problem in [&view.model.inventory_error, &inventory.error]
            .into_iter()
            .flatten()
        {
            theme::error(ui, view.problem(problem));
        }
        let Some(items) = &inventory.data else {
            if inventory.error.is_none() {
                theme::muted(ui, t.loading);
            }
            return;
        };
        if items.is_empty() {
            theme::muted(ui, t.inventory_empty);
        }
        ScrollArea::vertical()
            .id_salt("inventory")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for item in items {
                    let selling = view.model.busy.selling.contains(&item.id);
                    Sides::new()
                        .shrink_left()
                        .wrap_mode(TextWrapMode::Wrap)
                        .height(44.0)
                        .show(
                            ui,
                            |ui| {
                                ui.vertical(|ui| {
                                    ui.spacing_mut().item_spacing.y = 1.0;
                                    let name =
                                        RichText::new(&item.name).color(theme::rarity(item.rarity));
                                    ui.label(name).on_hover_text((t.rarity)(item.rarity));
                                    ui.label(RichText::new(&item.case_name).size(12.0));
                                });
                            },
                            |ui| {
                                let sell = theme::accent_button((t.sell)(&view.money(item.value)));
                                if ui.add_enabled(!selling, sell).clicked() {
                                    intents.push(Intent::Sell(item.id));
                                }
                            },
                        );
                    theme::row_line(ui);
                }
            });
    });
}
