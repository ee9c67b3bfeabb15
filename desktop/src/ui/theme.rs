//! The page's look in egui: its dark palette (`web/src/styles.css`), text sizes, the panel frame and
//! the accent button.

use eframe::egui::text::LayoutJob;
use eframe::egui::{
    self, Button, Color32, CornerRadius, FontFamily, FontId, Frame, Margin, RichText, Stroke,
    TextFormat, TextStyle, Ui, Vec2,
};

use cyberhub_sdk::protocol::Rarity;

pub const BG: Color32 = Color32::from_rgb(0x0f, 0x12, 0x20);
pub const TOP_BAR: Color32 = Color32::from_rgb(0x12, 0x16, 0x2a);
pub const PANEL: Color32 = Color32::from_rgb(0x18, 0x1c, 0x2f);
pub const LINE: Color32 = Color32::from_rgb(0x2a, 0x2f, 0x4a);
pub const TEXT: Color32 = Color32::from_rgb(0xe6, 0xe8, 0xf2);
pub const STRONG: Color32 = Color32::WHITE;
pub const MUTED: Color32 = Color32::from_rgb(0x8b, 0x90, 0xa8);
pub const ACCENT: Color32 = Color32::from_rgb(0x7c, 0x5c, 0xff);
pub const INPUT: Color32 = Color32::from_rgb(0x10, 0x14, 0x2a);
pub const BANNER: Color32 = Color32::from_rgb(0x2b, 0x21, 0x50);
pub const GOLD: Color32 = Color32::from_rgb(0xff, 0xb1, 0x3b);
pub const ERROR: Color32 = Color32::from_rgb(0xff, 0x6b, 0x7a);
pub const GREEN: Color32 = Color32::from_rgb(0x35, 0xd0, 0x7f);
pub const AMBER: Color32 = Color32::from_rgb(0xff, 0xb0, 0x20);
pub const RED: Color32 = Color32::from_rgb(0xff, 0x4d, 0x5e);
pub const NOTE_TOPUP: (Color32, Color32) = (
    Color32::from_rgb(0x1f, 0x3d, 0x2b),
    Color32::from_rgb(0x7e, 0xe2, 0xa8),
);
pub const NOTE_REFUND: (Color32, Color32) = (
    Color32::from_rgb(0x3d, 0x1f, 0x24),
    Color32::from_rgb(0xf0, 0xa0, 0xa8),
);

/// The space between panels and around the page.
pub const GAP: f32 = 14.0;
/// The space between widgets inside a panel.
pub const ITEM_SPACING: Vec2 = Vec2::new(8.0, 6.0);

pub fn rarity(rarity: Rarity) -> Color32 {
    match rarity {
        Rarity::Common => Color32::from_rgb(0xb0, 0xb3, 0xc0),
        Rarity::Uncommon => Color32::from_rgb(0x4f, 0xc3, 0x6b),
        Rarity::Rare => Color32::from_rgb(0x4f, 0x8c, 0xff),
        Rarity::Epic => Color32::from_rgb(0xb4, 0x5c, 0xff),
        Rarity::Legendary => GOLD,
    }
}

/// Sets the palette, sizes and spacing once, at start.
pub fn install(ctx: &egui::Context) {
    ctx.set_visuals(egui::Visuals::dark());
    ctx.global_style_mut(|style| {
        let font = |size| FontId::new(size, FontFamily::Proportional);
        style.text_styles = [
            (TextStyle::Small, font(12.0)),
            (TextStyle::Body, font(14.0)),
            (TextStyle::Button, font(14.0)),
            (TextStyle::Heading, font(20.0)),
            (
                TextStyle::Monospace,
                FontId::new(13.0, FontFamily::Monospace),
            ),
        ]
        .into();
        style.spacing.item_spacing = ITEM_SPACING;
        style.spacing.button_padding = Vec2::new(12.0, 6.0);
        style.spacing.interact_size.y = 30.0;

        let visuals = &mut style.visuals;
        visuals.panel_fill = BG;
        visuals.window_fill = PANEL;
        visuals.extreme_bg_color = INPUT;
        visuals.text_edit_bg_color = Some(INPUT);
        visuals.override_text_color = Some(TEXT);
        visuals.hyperlink_color = ACCENT;
        visuals.error_fg_color = ERROR;
        visuals.selection.bg_fill = ACCENT.gamma_multiply(0.6);
        // A blinking caret would repaint a focused field twice a second for ever.
        visuals.text_cursor.blink = false;
        let widgets = &mut visuals.widgets;
        for state in [
            &mut widgets.inactive,
            &mut widgets.hovered,
            &mut widgets.active,
        ] {
            state.corner_radius = CornerRadius::same(6);
        }
        widgets.inactive.bg_stroke = Stroke::new(1.0, LINE);
        widgets.hovered.bg_stroke = Stroke::new(1.0, ACCENT);
        widgets.active.bg_stroke = Stroke::new(1.0, ACCENT);
        widgets.noninteractive.bg_stroke = Stroke::new(1.0, LINE);
    });
}

/// A panel as the page draws one: a rounded box with an upper-case, muted title. `height` fixes
/// the outer height (the rest of a column); `badge` is a small count after the title.
pub fn panel<R>(
    ui: &mut Ui,
    title: &str,
    badge: Option<(String, String)>,
    height: Option<f32>,
    add_contents: impl FnOnce(&mut Ui) -> R,
) -> R {
    const MARGIN: Margin = Margin {
        left: 14,
        right: 14,
        top: 12,
        bottom: 12,
    };
    Frame::new()
        .fill(PANEL)
        .stroke(Stroke::new(1.0, LINE))
        .corner_radius(10)
        .inner_margin(MARGIN)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            if let Some(height) = height {
                ui.set_height(height - f32::from(MARGIN.top + MARGIN.bottom) - 2.0);
            }
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(title.to_uppercase())
                        .size(14.0)
                        .color(MUTED)
                        .extra_letter_spacing(1.0),
                );
                if let Some((count, tooltip)) = badge {
                    Frame::new()
                        .fill(LINE)
                        .corner_radius(9)
                        .inner_margin(Margin::symmetric(7, 1))
                        .show(ui, |ui| {
                            ui.label(RichText::new(count).size(12.0).color(TEXT))
                        })
                        .response
                        .on_hover_text(tooltip);
                }
            });
            ui.add_space(4.0);
            add_contents(ui)
        })
        .inner
}

/// The page's violet button with white text.
pub fn accent_button(text: impl Into<String>) -> Button<'static> {
    Button::new(RichText::new(text.into()).color(STRONG))
        .fill(ACCENT)
        .stroke(Stroke::NONE)
        .corner_radius(6)
}

/// A text-only button, like the page's `button.link`.
pub fn link(text: impl Into<String>, colour: Color32) -> Button<'static> {
    Button::new(RichText::new(text.into()).color(colour)).frame(false)
}

/// A paragraph of differently coloured pieces (text, size, colour), wrapped to the width left.
pub fn line(ui: &mut Ui, pieces: &[(&str, f32, Color32)]) {
    let mut job = LayoutJob::default();
    for &(text, size, colour) in pieces {
        let font = FontId::new(size, FontFamily::Proportional);
        job.append(text, 0.0, TextFormat::simple(font, colour));
    }
    job.wrap.max_width = ui.available_width();
    ui.label(job);
}

/// A thin separator between the rows of a list.
pub fn row_line(ui: &mut Ui) {
    let rect = ui.available_rect_before_wrap();
    let y = ui.cursor().top();
    ui.painter()
        .hline(rect.x_range(), y, Stroke::new(1.0, LINE));
    ui.add_space(1.0);
}

/// An error line in the page's red.
pub fn error(ui: &mut Ui, text: String) {
    ui.label(RichText::new(text).color(ERROR));
}

/// A muted line (loading, empty lists, hints).
pub fn muted(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).color(MUTED));
}
