//! The connection indicator, as on the page: a Wi-Fi sign, green while connected over SSE, amber
//! over long-poll (streaming is blocked on this network), red while connecting, reconnecting or
//! closed; hovering shows what it means and the transport's last word on why.

use eframe::egui::{Color32, Pos2, RichText, Sense, Shape, Stroke, Ui, Vec2, pos2};

use cyberhub_sdk::{ConnectionStatus, TransportKind};

use super::theme;
use crate::state::Model;
use crate::texts::Texts;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    Green,
    Amber,
    Red,
}

impl Colour {
    pub fn name(self) -> &'static str {
        match self {
            Colour::Green => "green",
            Colour::Amber => "amber",
            Colour::Red => "red",
        }
    }

    fn color32(self) -> Color32 {
        match self {
            Colour::Green => theme::GREEN,
            Colour::Amber => theme::AMBER,
            Colour::Red => theme::RED,
        }
    }
}

/// What the indicator shows: its colour, the tooltip's label and the reason under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indicator {
    pub colour: Colour,
    pub label: String,
    pub reason: Option<String>,
}

impl Indicator {
    /// The page's `describe()`, plus the transport's last notice as the reason when not green.
    pub fn of(model: &Model, t: &Texts) -> Indicator {
        let state = model.connection;
        let (colour, label) = match (state.state, state.transport) {
            (ConnectionStatus::Connected, Some(TransportKind::Sse)) => {
                (Colour::Green, t.conn_sse.to_owned())
            }
            (ConnectionStatus::Connected, _) => (Colour::Amber, t.conn_poll.to_owned()),
            (ConnectionStatus::Closed, _) => (Colour::Red, t.conn_closed.to_owned()),
            (status, transport) => {
                let word = if status == ConnectionStatus::Connecting {
                    t.conn_connecting
                } else {
                    t.conn_reconnecting
                };
                match transport {
                    Some(transport) => (Colour::Red, format!("{word} ({transport})…")),
                    None => (Colour::Red, format!("{word}…")),
                }
            }
        };
        let reason = model
            .notice
            .as_ref()
            .filter(|_| colour != Colour::Green)
            .map(|notice| t.notice(notice));
        Indicator {
            colour,
            label,
            reason,
        }
    }

    /// Draws the sign (22 × 22 points) with its tooltip.
    pub fn show(&self, ui: &mut Ui) {
        let (rect, response) = ui.allocate_exact_size(Vec2::splat(22.0), Sense::hover());
        let colour = self.colour.color32();
        let stroke = Stroke::new(2.2, colour);
        // The page's SVG on a 24-unit grid: three arcs over a dot at (12, 19).
        let scale = rect.width() / 24.0;
        let at = |x: f32, y: f32| rect.min + Vec2::new(x, y) * scale;
        let painter = ui.painter();
        for radius in [4.2_f32, 8.6, 13.0] {
            let centre = at(12.0, 19.5);
            let points: Vec<Pos2> = (0..=16)
                .map(|i| {
                    let angle = (-135.0 + 90.0 * i as f32 / 16.0).to_radians();
                    pos2(
                        centre.x + radius * scale * angle.cos(),
                        centre.y + radius * scale * angle.sin(),
                    )
                })
                .collect();
            painter.add(Shape::line(points, stroke));
        }
        painter.circle_filled(at(12.0, 19.0), 1.9 * scale, colour);
        response.on_hover_ui(|ui| {
            ui.label(&self.label);
            if let Some(reason) = &self.reason {
                ui.label(RichText::new(reason).size(12.0).color(theme::MUTED));
            }
        });
    }
}
