//! The cases: a grid of cards, each with its price, its possible drops coloured by rarity, an Open
//! button and the item won. The cards of a row share the height of the tallest, so the buttons line
//! up (measured in one pass, applied in the next, within the same frame).

use eframe::egui::{
    Align, Frame, Layout, RichText, ScrollArea, Sense, Sides, Stroke, TextWrapMode, Ui, UiBuilder,
    Vec2,
};

use cyberhub_sdk::protocol::Case;

use super::{Intent, Local, View, theme};

const MIN_CARD_WIDTH: f32 = 150.0;
const MAX_CARD_WIDTH: f32 = 320.0;
const CARD_GAP: f32 = 10.0;
/// The frame around a card's content: 10 points of margin and the 1-point stroke, each side.
const CARD_FRAME: f32 = 22.0;
/// The share of its column the cases may take; the chat below gets the rest.
const SHARE: f32 = 0.6;

pub fn show(ui: &mut Ui, view: &View, local: &mut Local, intents: &mut Vec<Intent>) {
    let t = view.t;
    let most = ui.available_height() * SHARE;
    theme::panel(ui, t.cases_title, None, None, |ui| {
        let cases = &view.model.cases;
        if let Some(problem) = &cases.error {
            theme::error(ui, view.problem(problem));
        }
        match &cases.data {
            None if cases.error.is_none() => theme::muted(ui, t.loading),
            None => {}
            Some(list) if list.is_empty() => theme::muted(ui, t.cases_empty),
            Some(list) => {
                ScrollArea::vertical()
                    .id_salt("cases")
                    .max_height(most - 60.0)
                    .auto_shrink([false, true])
                    .show(ui, |ui| grid(ui, view, list, local, intents));
            }
        }
    });
}

fn grid(ui: &mut Ui, view: &View, cases: &[Case], local: &mut Local, intents: &mut Vec<Intent>) {
    let width = ui.available_width();
    // As many as fit, but no empty places: a few cases share the row's width.
    let fit = ((width + CARD_GAP) / (MIN_CARD_WIDTH + CARD_GAP)).floor() as usize;
    let per_row = fit.clamp(1, cases.len());
    let card_width =
        ((width - CARD_GAP * (per_row - 1) as f32) / per_row as f32).min(MAX_CARD_WIDTH);
    for (row, chunk) in cases.chunks(per_row).enumerate() {
        let id = ui.scope_id().with(("case-row", row));
        let height: f32 = ui.data(|d| d.get_temp(id)).unwrap_or(0.0);
        let mut tallest = 0.0_f32;
        ui.horizontal_top(|ui| {
            ui.spacing_mut().item_spacing.x = CARD_GAP;
            for case in chunk {
                let natural = card(
                    ui,
                    view,
                    case,
                    Vec2::new(card_width, height),
                    local,
                    intents,
                );
                tallest = tallest.max(natural);
            }
        });
        if (tallest - height).abs() > 0.5 {
            ui.data_mut(|d| d.insert_temp(id, tallest));
            ui.ctx()
                .request_discard("the case cards of a row were measured");
        }
        ui.add_space(CARD_GAP - ui.spacing().item_spacing.y);
    }
}

/// Draws one card in `size` (its height: the row's tallest); returns the height it needs itself.
fn card(
    ui: &mut Ui,
    view: &View,
    case: &Case,
    size: Vec2,
    local: &mut Local,
    intents: &mut Vec<Intent>,
) -> f32 {
    let t = view.t;
    let (rect, _) = ui.allocate_exact_size(size.max(Vec2::new(0.0, 120.0)), Sense::hover());
    let mut ui = ui.new_child(
        UiBuilder::new()
            .max_rect(rect)
            .layout(Layout::top_down(Align::Min)),
    );
    Frame::new()
        .stroke(Stroke::new(1.0, theme::LINE))
        .corner_radius(8)
        .inner_margin(10)
        .show(&mut ui, |ui| {
            ui.set_width(rect.width() - CARD_FRAME);
            ui.set_height(rect.height() - CARD_FRAME);
            let start = ui.cursor().top();
            Sides::new()
                .shrink_left()
                .wrap_mode(TextWrapMode::Wrap)
                .height(20.0)
                .show(
                    ui,
                    |ui| ui.label(RichText::new(&case.name).size(15.0).color(theme::STRONG)),
                    |ui| ui.label(RichText::new(view.money(case.price)).color(theme::GOLD)),
                );
            let count = case.items.len() as u64;
            ui.label(
                RichText::new((t.possible)(count))
                    .size(12.0)
                    .color(theme::MUTED),
            );
            ui.spacing_mut().item_spacing.y = 2.0;
            for item in &case.items {
                Sides::new()
                    .shrink_left()
                    .wrap_mode(TextWrapMode::Wrap)
                    .height(16.0)
                    .show(
                        ui,
                        |ui| {
                            let name = RichText::new(format!("•\u{a0}{}", item.name))
                                .size(12.5)
                                .color(theme::rarity(item.rarity));
                            ui.label(name).on_hover_text((t.rarity)(item.rarity));
                        },
                        |ui| {
                            let value = RichText::new(view.money(item.value)).size(12.5);
                            ui.label(value.color(theme::MUTED));
                        },
                    );
            }
            let top = ui.cursor().top() - start;
            // The button and the outcome sit at the bottom, whatever the list above.
            let bottom = ui
                .with_layout(Layout::bottom_up(Align::Min), |ui| {
                    ui.spacing_mut().item_spacing.y = 6.0;
                    outcome(ui, view, case.id);
                    open_button(ui, view, case.id, local, intents);
                    ui.min_rect().height()
                })
                .inner;
            top + bottom + 8.0 + CARD_FRAME
        })
        .inner
}

fn open_button(
    ui: &mut Ui,
    view: &View,
    case_id: i64,
    local: &mut Local,
    intents: &mut Vec<Intent>,
) {
    let t = view.t;
    let model = view.model;
    let (text, enabled) = match model.busy.opening {
        _ if !model.signed_in => (t.sign_in_to_open, true),
        Some(id) if id == case_id => (t.opening, false),
        Some(_) => (t.open, false),
        None => (t.open, true),
    };
    let size = Vec2::new(ui.available_width(), 30.0);
    let clicked = ui
        .add_enabled_ui(enabled, |ui| ui.add_sized(size, theme::accent_button(text)))
        .inner
        .clicked();
    if clicked {
        if model.signed_in {
            intents.push(Intent::Open(case_id));
        } else {
            local.ask_sign_in = true;
        }
    }
}

fn outcome(ui: &mut Ui, view: &View, case_id: i64) {
    match view.model.outcomes.get(&case_id) {
        Some(Ok(item)) => {
            let text = (view.t.won)(&item.name, &view.money(item.value));
            ui.label(RichText::new(text).color(theme::rarity(item.rarity)));
        }
        Some(Err(problem)) => theme::error(ui, view.problem(problem)),
        None => {}
    }
}
