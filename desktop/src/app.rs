//! The window's app: owns the network runtime and the client, shows the shared model each frame,
//! records the state file, and starts the calls the member asked for once the frame is drawn.

use std::path::PathBuf;

use cyberhub_sdk::Client;
use eframe::egui;
use tokio::runtime::Runtime;

use crate::actions::{Actions, Credentials};
use crate::format::Clock;
use crate::hooks;
use crate::snapshot::{Snapshot, StateFile};
use crate::state::{Model, Shared};
use crate::texts::Lang;
use crate::token_store::TokenStore;
use crate::ui::{self, Intent, Local, indicator::Indicator};

/// What `main` prepares before the window opens.
pub struct Setup {
    pub runtime: Runtime,
    pub client: Client,
    pub lang: Lang,
    pub clock: Clock,
    pub tokens: Option<TokenStore>,
    pub credentials: Option<Credentials>,
    pub state_file: Option<PathBuf>,
}

/// The window, its model and the network side behind it.
pub struct App {
    shared: Shared,
    actions: Actions,
    client: Client,
    local: Local,
    clock: Clock,
    state_file: Option<StateFile>,
    // Last: the runtime outlives everything that spawns on it.
    runtime: Runtime,
}

impl App {
    pub fn new(cc: &eframe::CreationContext<'_>, setup: Setup) -> App {
        ui::theme::install(&cc.egui_ctx);
        let Setup {
            runtime,
            client,
            lang,
            clock,
            tokens,
            credentials,
            state_file,
        } = setup;
        let shared = Shared::new(Model::new(client.token().is_some()), cc.egui_ctx.clone());
        let actions = Actions::new(client.clone(), shared.clone(), runtime.handle().clone());
        hooks::register(&client, &shared, &actions, tokens);
        let username = credentials
            .as_ref()
            .map(|c| c.username.clone())
            .unwrap_or_default();
        actions.start(credentials);
        App {
            shared,
            actions,
            client,
            local: Local {
                lang,
                username,
                password: String::new(),
                draft: String::new(),
                ask_sign_in: false,
            },
            clock,
            state_file: state_file.map(StateFile::new),
            runtime,
        }
    }

    /// Starts what the member asked for (a call, or a change of the window).
    fn act(&mut self, intent: Intent) {
        match intent {
            Intent::SignIn { username, password } => self.actions.sign_in(username, password),
            Intent::SignOut => self.actions.sign_out(),
            Intent::Open(case_id) => self.actions.open_case(case_id),
            Intent::Sell(item_id) => self.actions.sell(item_id),
            Intent::Send(text) => self.actions.send_chat(text),
            Intent::DismissBanner(id) => self.shared.update(|m| m.dismiss_banner(id)),
        }
    }
}

impl eframe::App for App {
    fn logic(&mut self, _ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if let Some(file) = &mut self.state_file
            && let Err(e) = file.flush()
        {
            eprintln!("cyberhub-desk: cannot write the state file: {e}");
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let intents = {
            let mut model = self.shared.lock();
            // A message the server refused goes back into the input, unless the member typed anew.
            if let Some(text) = model.unsent.take()
                && self.local.draft.is_empty()
            {
                self.local.draft = text;
            }
            // The language this frame is drawn in (a click on the switch applies from the next).
            let lang = self.local.lang;
            let intents = ui::show(ui, &model, &self.clock, &mut self.local);
            if let Some(file) = &mut self.state_file {
                let indicator = Indicator::of(&model, lang.texts());
                if file.offer(Snapshot::of(&model, lang, &indicator)) {
                    // One more frame, so that `logic` writes it once this one is on screen.
                    ui.ctx().request_repaint();
                }
            }
            intents
        };
        for intent in intents {
            self.act(intent);
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // End the stream cleanly (the server sees the client go) before the runtime stops.
        self.runtime.block_on(self.client.close());
    }
}
