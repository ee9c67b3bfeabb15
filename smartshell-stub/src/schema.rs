//! The subset of SmartShell's GraphQL schema the billing bridge uses, with SmartShell's names,
//! nesting and conventions as the published schema (introspected by the community SDK
//! `xlsft/smartshell-sdk`, `src/types/types.ts`) has them: snake_case fields on the domain types,
//! camelCase operations and paginator fields (Laravel Lighthouse), `page`/`first` pagination,
//! `DateTime` as club-local `YYYY-MM-DD HH:MM:SS`, money as `Decimal` roubles, and a bearer token
//! from `login` required on everything else, refused with Lighthouse's `Unauthenticated.`.

use std::sync::{Arc, Mutex};

use async_graphql::{
    Context, EmptySubscription, Enum, Error, ErrorExtensions, InputObject, InputValueError,
    InputValueResult, Object, Scalar, ScalarType, Schema, SimpleObject, Value,
};

use crate::world::{Fault, TokenKind, World};

pub type StubSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema, over the shared world.
pub fn schema(world: Arc<Mutex<World>>) -> StubSchema {
    Schema::build(Query, Mutation, EmptySubscription)
        .data(world)
        .finish()
}

/// The request's bearer token, put in the request's data by the HTTP handler.
pub struct Bearer(pub Option<String>);

fn world<'a>(ctx: &Context<'a>) -> std::sync::MutexGuard<'a, World> {
    ctx.data_unchecked::<Arc<Mutex<World>>>()
        .lock()
        .expect("the world lock")
}

/// Lighthouse's answer to a request without a valid token.
fn unauthenticated() -> Error {
    Error::new("Unauthenticated.").extend_with(|_, e| e.set("category", "authentication"))
}

fn authenticated(ctx: &Context<'_>) -> Result<(), Error> {
    let token = ctx.data_unchecked::<Bearer>().0.as_deref();
    match token {
        Some(token) if world(ctx).valid(token, TokenKind::Access) => Ok(()),
        _ => Err(unauthenticated()),
    }
}

/// `DateTime`: club-local time, `YYYY-MM-DD HH:MM:SS`, no offset.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub String);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) if s.len() == 19 => Ok(DateTime(s)),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// `Decimal`: roubles with kopecks as a JSON number; with the `malformed` fault, not a number.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    kopecks: i64,
    garbled: bool,
}

#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(n) => {
                let roubles = n
                    .as_f64()
                    .ok_or_else(|| InputValueError::expected_type(value.clone()))?;
                Ok(Decimal {
                    kopecks: (roubles * 100.0).round() as i64,
                    garbled: false,
                })
            }
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        if self.garbled {
            return Value::String("n/a".into());
        }
        let number = if self.kopecks % 100 == 0 {
            serde_json::Number::from(self.kopecks / 100)
        } else {
            serde_json::Number::from_f64(self.kopecks as f64 / 100.0).expect("finite")
        };
        Value::Number(number)
    }
}

fn money(kopecks: i64, fault: Fault) -> Decimal {
    Decimal {
        kopecks,
        garbled: fault == Fault::Malformed,
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PaymentMethod {
    Card,
    Cash,
    Deposit,
    Bonus,
    Composite,
    CloudPayments,
    PostPay,
    KaspiQr,
    KaspiCard,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PaymentStatus {
    Pending,
    Paid,
    Unpaid,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PaymentItemType {
    Deposit,
    Good,
    Service,
    Tariff,
    Combo,
    Bonus,
    Tips,
}

#[derive(SimpleObject, Clone)]
#[graphql(rename_fields = "snake_case")]
pub struct User {
    id: i32,
    uuid: String,
    login: String,
    nickname: String,
    phone: Option<String>,
}

#[derive(SimpleObject, Clone)]
#[graphql(rename_fields = "snake_case")]
pub struct PaymentItem {
    id: i32,
    payment_id: i32,
    #[graphql(name = "type")]
    kind: PaymentItemType,
    /// A quantity, not money.
    amount: i32,
    sum: Decimal,
}

#[derive(SimpleObject, Clone)]
#[graphql(rename_fields = "snake_case")]
pub struct Payment {
    id: i32,
    client: Option<User>,
    method: PaymentMethod,
    status: PaymentStatus,
    sum: Decimal,
    bonus: Decimal,
    card_sum: Decimal,
    cash_sum: Decimal,
    cashback: Decimal,
    created_at: DateTime,
    items: Vec<PaymentItem>,
    is_refunded: bool,
    not_refundable: bool,
    comment: Option<String>,
}

#[derive(SimpleObject, Clone)]
#[graphql(rename_fields = "snake_case")]
pub struct WorkShift {
    id: i32,
    created_at: DateTime,
    finished_at: Option<DateTime>,
    payments: Vec<Payment>,
}

#[derive(SimpleObject)]
pub struct PaginatorInfo {
    count: i32,
    current_page: i32,
    first_item: Option<i32>,
    has_more_pages: bool,
    last_item: Option<i32>,
    last_page: i32,
    per_page: i32,
    total: i32,
}

#[derive(SimpleObject)]
pub struct WorkShiftPaginated {
    paginator_info: PaginatorInfo,
    data: Vec<WorkShift>,
}

#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct AccessTokenMetadata {
    first_time_login: bool,
}

#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct AccessToken {
    token_type: String,
    expires_in: i32,
    access_token: String,
    refresh_token: String,
    metadata: Option<AccessTokenMetadata>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct LoginInput {
    login: String,
    password: String,
    company_id: Option<i32>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct RefreshTokenInput {
    refresh_token: String,
}

#[derive(InputObject, Default)]
#[graphql(rename_fields = "snake_case")]
pub struct WorkShiftInput {
    created_from: Option<DateTime>,
    created_to: Option<DateTime>,
    worker_id: Option<i32>,
}

fn user(world: &World, uuid: &str) -> Option<User> {
    world.clients.get(uuid).map(|c| User {
        id: c.id as i32,
        uuid: c.uuid.clone(),
        login: c.login.clone(),
        nickname: c.login.clone(),
        phone: None,
    })
}

fn work_shift(world: &World, index: usize) -> WorkShift {
    let shift = &world.shifts[index];
    let fault = world.fault;
    let mut payments: Vec<Payment> = shift
        .payments
        .iter()
        .map(|id| {
            let p = &world.payments[id];
            Payment {
                id: p.id as i32,
                client: user(world, &p.client_uuid),
                method: PaymentMethod::Cash,
                status: PaymentStatus::Paid,
                sum: money(p.sum, fault),
                bonus: money(0, Fault::None),
                card_sum: money(0, Fault::None),
                cash_sum: money(p.sum, fault),
                cashback: money(0, Fault::None),
                created_at: DateTime(p.created_at.clone()),
                items: vec![PaymentItem {
                    id: p.item_id as i32,
                    payment_id: p.id as i32,
                    kind: PaymentItemType::Deposit,
                    amount: 1,
                    sum: money(p.sum, fault),
                }],
                is_refunded: p.is_refunded,
                not_refundable: false,
                comment: None,
            }
        })
        .collect();
    if fault == Fault::DuplicatePages {
        let twice = payments.clone();
        payments.extend(twice);
    }
    WorkShift {
        id: shift.id as i32,
        created_at: DateTime(shift.created_at.clone()),
        finished_at: shift.finished_at.clone().map(DateTime),
        payments,
    }
}

pub struct Query;

#[Object]
impl Query {
    /// The shift open at the club now, with every payment taken in it; `null` between shifts.
    async fn active_work_shift(&self, ctx: &Context<'_>) -> Result<Option<WorkShift>, Error> {
        authenticated(ctx)?;
        let world = world(ctx);
        Ok(world
            .shifts
            .iter()
            .position(|s| s.finished_at.is_none())
            .map(|i| work_shift(&world, i)))
    }

    /// One shift, open or closed.
    async fn work_shift(&self, ctx: &Context<'_>, id: i32) -> Result<WorkShift, Error> {
        authenticated(ctx)?;
        let world = world(ctx);
        let index = world
            .shifts
            .iter()
            .position(|s| s.id == i64::from(id))
            .ok_or_else(|| Error::new("No query results for model [App\\Models\\WorkShift]."))?;
        Ok(work_shift(&world, index))
    }

    /// Shifts opened in a period, oldest first, a page at a time.
    async fn work_shifts(
        &self,
        ctx: &Context<'_>,
        input: Option<WorkShiftInput>,
        page: Option<i32>,
        first: Option<i32>,
    ) -> Result<WorkShiftPaginated, Error> {
        authenticated(ctx)?;
        let world = world(ctx);
        let input = input.unwrap_or_default();
        let matching: Vec<usize> = (0..world.shifts.len())
            .filter(|&i| {
                let created = DateTime(world.shifts[i].created_at.clone());
                input
                    .created_from
                    .as_ref()
                    .is_none_or(|from| &created >= from)
                    && input.created_to.as_ref().is_none_or(|to| &created <= to)
            })
            .collect();
        let per_page = first.unwrap_or(10).clamp(1, 100) as usize;
        let page = page.unwrap_or(1).max(1) as usize;
        let total = matching.len();
        let last_page = total.div_ceil(per_page).max(1);
        let start = (page - 1) * per_page;
        let mut indices: Vec<usize> = matching
            .iter()
            .skip(start)
            .take(per_page)
            .copied()
            .collect();
        if world.fault == Fault::DuplicatePages && start > 0 && start <= total {
            indices.insert(0, matching[start - 1]);
        }
        let data: Vec<WorkShift> = indices.iter().map(|&i| work_shift(&world, i)).collect();
        let count = data.len() as i32;
        Ok(WorkShiftPaginated {
            paginator_info: PaginatorInfo {
                count,
                current_page: page as i32,
                first_item: (count > 0).then_some(start as i32 + 1),
                has_more_pages: page < last_page,
                last_item: (count > 0).then_some((start + per_page).min(total) as i32),
                last_page: last_page as i32,
                per_page: per_page as i32,
                total: total as i32,
            },
            data,
        })
    }

    /// A client by uuid.
    async fn user(&self, ctx: &Context<'_>, uuid: String) -> Result<User, Error> {
        authenticated(ctx)?;
        user(&world(ctx), &uuid)
            .ok_or_else(|| Error::new("No query results for model [App\\Models\\User]."))
    }
}

pub struct Mutation;

fn access_token(world: &mut World) -> AccessToken {
    AccessToken {
        token_type: "Bearer".into(),
        expires_in: world.token_lifetime.as_secs() as i32,
        access_token: world.issue(TokenKind::Access),
        refresh_token: world.issue(TokenKind::Refresh),
        metadata: Some(AccessTokenMetadata {
            first_time_login: false,
        }),
    }
}

#[Object]
impl Mutation {
    /// A staff member's sign-in at one club (`company_id`).
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AccessToken, Error> {
        let mut world = world(ctx);
        let staff = &world.staff;
        let club_ok = input
            .company_id
            .is_none_or(|id| i64::from(id) == staff.company_id);
        if input.login != staff.login || input.password != staff.password || !club_ok {
            return Err(Error::new("Invalid credentials.")
                .extend_with(|_, e| e.set("category", "authentication")));
        }
        Ok(access_token(&mut world))
    }

    /// A new pair of tokens for a refresh token (which is used up).
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        input: RefreshTokenInput,
    ) -> Result<AccessToken, Error> {
        let mut world = world(ctx);
        if !world.take_refresh(&input.refresh_token) {
            return Err(unauthenticated());
        }
        Ok(access_token(&mut world))
    }
}
