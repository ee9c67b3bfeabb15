//! What the window says, in Russian and English: the same texts as the club's page
//! (`web/src/i18n/`), so a member reads the same words on the page and at the PC. Texts that take
//! values are functions; money and times arrive already formatted (see `format`).

use std::time::Duration;

use clap::ValueEnum;
use cyberhub_sdk::TransportNotice;

use crate::format::{Clock, number};
use crate::state::Problem;

/// The language of the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    /// Russian when the first of `LC_ALL`, `LC_MESSAGES`, `LANG` that is set starts with `ru`
    /// (the POSIX order); with none set (Windows, macOS) the system's language decides; English
    /// otherwise.
    pub fn from_environment() -> Lang {
        let var = |name| std::env::var(name).ok();
        Lang::from_locale(
            [var("LC_ALL"), var("LC_MESSAGES"), var("LANG")],
            sys_locale::get_locale,
        )
    }

    /// The rule of [`Lang::from_environment`], given the three variables in order.
    fn from_locale(
        variables: [Option<String>; 3],
        system: impl FnOnce() -> Option<String>,
    ) -> Lang {
        let set = variables.into_iter().flatten().find(|v| !v.is_empty());
        match set.or_else(system) {
            Some(tag) if tag.to_ascii_lowercase().starts_with("ru") => Lang::Ru,
            _ => Lang::En,
        }
    }

    /// `ru` or `en`, as the page's switch spells them.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Ru => &RU,
            Lang::En => &EN,
        }
    }
}

/// Every text of the window in one language.
pub struct Texts {
    pub lang: Lang,
    pub language_names: [(Lang, &'static str); 2],
    pub log_out: &'static str,
    pub topped_up: fn(&str) -> String,
    pub refunded: fn(&str) -> String,
    pub conn_sse: &'static str,
    pub conn_poll: &'static str,
    pub conn_closed: &'static str,
    pub conn_connecting: &'static str,
    pub conn_reconnecting: &'static str,
    /// The transport's notices, by transport name (`SSE`, `long-poll`), seconds and the cause
    /// (the SDK's words, English).
    retrying: fn(&str, &str, &str) -> String,
    fell_back: fn(&str, &str) -> String,
    probe_failed: fn(&str, &str) -> String,
    pub announcement: &'static str,
    pub loading: &'static str,
    pub cases_title: &'static str,
    pub cases_empty: &'static str,
    /// "5 возможных предметов".
    pub possible: fn(u64) -> String,
    pub open: &'static str,
    pub opening: &'static str,
    pub sign_in_to_open: &'static str,
    pub won: fn(&str, &str) -> String,
    pub inventory_title: &'static str,
    /// "3 предмета": the count badge's tooltip.
    pub items: fn(u64) -> String,
    pub inventory_empty: &'static str,
    pub sell: fn(&str) -> String,
    pub drops_title: &'static str,
    pub drops_empty: &'static str,
    /// The verb between the member and the item: "получает" / "won".
    pub drop_won: &'static str,
    pub drop_from: fn(&str, &str) -> String,
    pub chat_title: &'static str,
    pub chat_empty: &'static str,
    pub chat_placeholder: &'static str,
    pub send: &'static str,
    pub muted: fn(&str, Option<&str>) -> String,
    pub sign_in_to_write: &'static str,
    pub login_title: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub submit: &'static str,
    pub signing_in: &'static str,
    pub newcomer: &'static str,
    pub rarity: fn(cyberhub_sdk::protocol::Rarity) -> &'static str,
    /// By the server's stable error code; a code not listed shows the server's own message.
    errors: &'static [(&'static str, &'static str)],
    rate_limited: fn(Option<u64>) -> String,
    chat_muted: fn(Option<&str>) -> String,
}

impl Texts {
    /// A refused or failed call in this language. The server's message is English and for
    /// developers, so it is shown only for a code without a text here (as the page does).
    pub fn problem(&self, problem: &Problem, clock: &Clock) -> String {
        match problem.code.as_str() {
            "rate_limited" => (self.rate_limited)(problem.wait_secs(clock.now_ms())),
            "chat_muted" => {
                let until = problem.until.map(|ms| clock.moment(ms, self.lang));
                (self.chat_muted)(until.as_deref())
            }
            code => self
                .errors
                .iter()
                .find(|(known, _)| *known == code)
                .map_or_else(|| problem.message.clone(), |(_, text)| (*text).to_owned()),
        }
    }

    /// A transport notice (the reason on the indicator's tooltip) in this language; the cause
    /// stays in the SDK's words.
    pub fn notice(&self, notice: &TransportNotice) -> String {
        let secs = |d: &Duration| {
            let text = format!("{:.1}", d.as_secs_f64());
            match self.lang {
                Lang::Ru => text.replace('.', ","),
                Lang::En => text,
            }
        };
        match notice {
            TransportNotice::Retrying {
                transport,
                delay,
                cause,
            } => (self.retrying)(&transport.to_string(), &secs(delay), cause),
            TransportNotice::FellBack { cause, probe_in } => {
                (self.fell_back)(cause, &secs(probe_in))
            }
            TransportNotice::ProbeFailed {
                cause,
                next_probe_in,
            } => (self.probe_failed)(cause, &secs(next_probe_in)),
            // A notice newer than this app: the SDK's own words.
            other => other.to_string(),
        }
    }
}

/// The word forms of a Russian count ("1 предмет, 2 предмета, 5 предметов"), after the number.
fn plural_ru(n: u64, one: &str, few: &str, many: &str) -> String {
    let word = match (n % 10, n % 100) {
        (1, m) if m != 11 => one,
        (2..=4, m) if !(12..=14).contains(&m) => few,
        _ => many,
    };
    format!("{} {word}", number(n as i64, Lang::Ru))
}

fn plural_en(n: u64, one: &str, other: &str) -> String {
    format!(
        "{} {}",
        number(n as i64, Lang::En),
        if n == 1 { one } else { other }
    )
}

pub static RU: Texts = Texts {
    lang: Lang::Ru,
    language_names: [(Lang::Ru, "Русский"), (Lang::En, "English")],
    log_out: "Выйти",
    topped_up: |amount| format!("+{amount}: пополнение в клубе"),
    refunded: |amount| format!("−{amount}: платёж возвращён"),
    conn_sse: "Онлайн: подключено по SSE",
    conn_poll: "Онлайн: подключено через long-poll (потоковая передача в этой сети заблокирована)",
    conn_closed: "Не подключено",
    conn_connecting: "Подключение",
    conn_reconnecting: "Переподключение",
    retrying: |transport, secs, cause| {
        format!("переподключение по {transport} через {secs} с ({cause})")
    },
    fell_back: |cause, secs| {
        format!("переход на long-poll ({cause}); снова попробуем SSE через {secs} с")
    },
    probe_failed: |cause, secs| format!("проба SSE не удалась ({cause}); следующая через {secs} с"),
    announcement: "Объявление",
    loading: "Загрузка…",
    cases_title: "Кейсы",
    cases_empty: "Кейсов пока нет.",
    possible: |n| {
        plural_ru(
            n,
            "возможный предмет",
            "возможных предмета",
            "возможных предметов",
        )
    },
    open: "Открыть",
    opening: "Открываем…",
    sign_in_to_open: "Войдите, чтобы открыть",
    won: |item, value| format!("Вам выпало: {item} ({value})"),
    inventory_title: "Инвентарь",
    items: |n| plural_ru(n, "предмет", "предмета", "предметов"),
    inventory_empty: "Пока пусто: откройте кейс.",
    sell: |value| format!("Продать за {value}"),
    drops_title: "Лента дропов",
    drops_empty: "Дропов пока нет.",
    drop_won: "получает",
    drop_from: |case, value| format!("из кейса «{case}» · {value}"),
    chat_title: "Чат",
    chat_empty: "Сообщений пока нет.",
    chat_placeholder: "Напишите что-нибудь",
    send: "Отправить",
    muted: |until, reason| match reason {
        Some(reason) => format!("Вам нельзя писать в чат до {until} ({reason})."),
        None => format!("Вам нельзя писать в чат до {until}."),
    },
    sign_in_to_write: "Войдите, чтобы писать в чат.",
    login_title: "Вход",
    username: "логин",
    password: "пароль",
    submit: "Войти",
    signing_in: "Входим…",
    newcomer: "Нет аккаунта? Попросите администратора клуба на ресепшене.",
    rarity: |rarity| {
        use cyberhub_sdk::protocol::Rarity;
        match rarity {
            Rarity::Common => "Обычный",
            Rarity::Uncommon => "Необычный",
            Rarity::Rare => "Редкий",
            Rarity::Epic => "Эпический",
            Rarity::Legendary => "Легендарный",
        }
    },
    errors: &[
        ("unauthenticated", "Сначала войдите."),
        ("bad_credentials", "Неверный логин или пароль."),
        ("not_found", "Не найдено: возможно, только что удалено."),
        ("insufficient_funds", "Недостаточно средств на балансе."),
        ("busy", "Сервер занят: попробуйте через секунду."),
        ("internal", "На сервере что-то пошло не так."),
        (
            "database_unavailable",
            "База данных недоступна: попробуйте чуть позже.",
        ),
        ("server_full", "Сервер переполнен: попробуйте чуть позже."),
        (
            "too_many_connections",
            "Слишком много подключений из этой сети: попробуйте чуть позже.",
        ),
        (
            "duplicate_message",
            "Вы только что отправили это сообщение.",
        ),
        ("balance_limit", "Баланс превысил бы допустимый максимум."),
        ("case_empty", "В этом кейсе пока нет предметов."),
        (
            "invalid_username",
            "Логин: от 3 до 32 символов — латинские буквы, цифры, _ - .",
        ),
        ("invalid_password", "Пароль: от 8 до 128 символов."),
        ("invalid_length", "Текст пустой или слишком длинный."),
        ("invalid_characters", "В тексте недопустимые символы."),
        ("network_error", "Нет связи с сервером."),
    ],
    rate_limited: |seconds| match seconds {
        Some(s) => format!(
            "Слишком часто: попробуйте через {}.",
            plural_ru(s, "секунду", "секунды", "секунд")
        ),
        None => "Слишком часто: попробуйте чуть позже.".to_owned(),
    },
    chat_muted: |until| match until {
        Some(until) => format!("Вам нельзя писать в чат до {until}."),
        None => "Вам нельзя писать в чат.".to_owned(),
    },
};

pub static EN: Texts = Texts {
    lang: Lang::En,
    language_names: [(Lang::Ru, "Русский"), (Lang::En, "English")],
    log_out: "Log out",
    topped_up: |amount| format!("+{amount} topped up at the club"),
    refunded: |amount| format!("−{amount}: a payment was refunded"),
    conn_sse: "Live: connected over SSE",
    conn_poll: "Live: connected over long-poll (streaming is blocked on this network)",
    conn_closed: "Not connected",
    conn_connecting: "Connecting",
    conn_reconnecting: "Reconnecting",
    retrying: |transport, secs, cause| {
        format!("reconnecting over {transport} in {secs} s ({cause})")
    },
    fell_back: |cause, secs| {
        format!("fell back to long-poll ({cause}); trying SSE again in {secs} s")
    },
    probe_failed: |cause, secs| format!("SSE probe failed ({cause}); next probe in {secs} s"),
    announcement: "Announcement",
    loading: "Loading…",
    cases_title: "Cases",
    cases_empty: "No cases yet.",
    possible: |n| plural_en(n, "possible drop", "possible drops"),
    open: "Open",
    opening: "Opening…",
    sign_in_to_open: "Log in to open",
    won: |item, value| format!("You won {item} ({value})"),
    inventory_title: "Inventory",
    items: |n| plural_en(n, "item", "items"),
    inventory_empty: "Nothing yet: open a case.",
    sell: |value| format!("Sell {value}"),
    drops_title: "Live drops",
    drops_empty: "No drops yet.",
    drop_won: "won",
    drop_from: |case, value| format!("from {case} · {value}"),
    chat_title: "Chat",
    chat_empty: "No messages yet.",
    chat_placeholder: "Say something",
    send: "Send",
    muted: |until, reason| match reason {
        Some(reason) => format!("You are muted until {until} ({reason})."),
        None => format!("You are muted until {until}."),
    },
    sign_in_to_write: "Log in to write in the chat.",
    login_title: "Log in",
    username: "username",
    password: "password",
    submit: "Log in",
    signing_in: "Logging in…",
    newcomer: "No account yet? Ask the club admin at the front desk.",
    rarity: |rarity| {
        use cyberhub_sdk::protocol::Rarity;
        match rarity {
            Rarity::Common => "Common",
            Rarity::Uncommon => "Uncommon",
            Rarity::Rare => "Rare",
            Rarity::Epic => "Epic",
            Rarity::Legendary => "Legendary",
        }
    },
    errors: &[
        ("unauthenticated", "Please log in first."),
        ("bad_credentials", "Wrong username or password."),
        ("not_found", "Not found: it may have just been removed."),
        ("insufficient_funds", "Not enough money on your balance."),
        ("busy", "The server is busy: try again in a moment."),
        ("internal", "Something went wrong on the server."),
        (
            "database_unavailable",
            "The database is unavailable: try again shortly.",
        ),
        ("server_full", "The server is full: try again shortly."),
        (
            "too_many_connections",
            "Too many connections from this network: try again shortly.",
        ),
        ("duplicate_message", "You have just sent that message."),
        (
            "balance_limit",
            "The balance would exceed the largest allowed amount.",
        ),
        ("case_empty", "This case has no items yet."),
        (
            "invalid_username",
            "A username has 3 to 32 characters: Latin letters, digits, _ - .",
        ),
        ("invalid_password", "A password has 8 to 128 characters."),
        ("invalid_length", "The text is empty or too long."),
        (
            "invalid_characters",
            "The text contains characters that are not allowed.",
        ),
        ("network_error", "No connection to the server."),
    ],
    rate_limited: |seconds| match seconds {
        Some(s) => format!("Too many requests: try again in {s} s."),
        None => "Too many requests: try again shortly.".to_owned(),
    },
    chat_muted: |until| match until {
        Some(until) => format!("You are muted in the chat until {until}."),
        None => "You are muted in the chat.".to_owned(),
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_russian_locale_gives_russian() {
        let some = |v: &str| Some(v.to_owned());
        let no_system = || None;
        assert_eq!(
            Lang::from_locale([None, None, some("ru_RU.UTF-8")], no_system),
            Lang::Ru
        );
        // LC_ALL wins over LANG; an empty variable counts as unset.
        assert_eq!(
            Lang::from_locale([some("C.UTF-8"), None, some("ru_RU")], no_system),
            Lang::En
        );
        assert_eq!(
            Lang::from_locale([some(""), some("ru_UA"), None], no_system),
            Lang::Ru
        );
        // No variable (Windows): the system's language.
        assert_eq!(
            Lang::from_locale([None, None, None], || some("ru-RU")),
            Lang::Ru
        );
        assert_eq!(Lang::from_locale([None, None, None], no_system), Lang::En);
    }

    #[test]
    fn russian_counts_take_the_right_form() {
        let items = RU.items;
        assert_eq!(items(1), "1 предмет");
        assert_eq!(items(3), "3 предмета");
        assert_eq!(items(5), "5 предметов");
        assert_eq!(items(11), "11 предметов");
        assert_eq!(items(21), "21 предмет");
        assert_eq!(items(1250), "1\u{a0}250 предметов");
        assert_eq!((EN.items)(1), "1 item");
        assert_eq!((EN.items)(2), "2 items");
    }

    #[test]
    fn transport_notices_read_as_the_sdk_says_them_or_in_russian() {
        let notice = TransportNotice::FellBack {
            cause: "streaming refused: HTTP 502".into(),
            probe_in: Duration::from_secs(30),
        };
        assert_eq!(EN.notice(&notice), notice.to_string());
        assert_eq!(
            RU.notice(&notice),
            "переход на long-poll (streaming refused: HTTP 502); снова попробуем SSE через 30,0 с"
        );
        let retry = TransportNotice::Retrying {
            transport: cyberhub_sdk::TransportKind::Sse,
            delay: Duration::from_millis(1830),
            cause: "connection refused".into(),
        };
        assert_eq!(EN.notice(&retry), retry.to_string());
    }

    #[test]
    fn a_known_code_is_translated_and_an_unknown_one_keeps_the_servers_message() {
        let clock = Clock::utc();
        let known = Problem {
            code: "insufficient_funds".into(),
            message: "balance too low".into(),
            retry_after_secs: None,
            until: None,
        };
        assert_eq!(
            RU.problem(&known, &clock),
            "Недостаточно средств на балансе."
        );
        let unknown = Problem {
            code: "http_502".into(),
            message: "502 http_502: Bad Gateway".into(),
            ..known.clone()
        };
        assert_eq!(EN.problem(&unknown, &clock), "502 http_502: Bad Gateway");
        let limited = Problem {
            code: "rate_limited".into(),
            retry_after_secs: Some(3),
            ..known
        };
        assert_eq!(
            RU.problem(&limited, &clock),
            "Слишком часто: попробуйте через 3 секунды."
        );
    }
}
