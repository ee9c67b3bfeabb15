/**
 * Every wire type of the protocol, re-exported from the types ts-rs generates in `generated/` (a test
 * fails when a generated type is missing here).
 * @module
 */
export type { Announcement } from './generated/Announcement.js';
export type { AnnouncementRequest } from './generated/AnnouncementRequest.js';
export type { AnnouncementResponse } from './generated/AnnouncementResponse.js';
export type { BalanceAdjustRequest } from './generated/BalanceAdjustRequest.js';
export type { BalanceAdjustResponse } from './generated/BalanceAdjustResponse.js';
export type { BalanceReason } from './generated/BalanceReason.js';
export type { BalanceUpdated } from './generated/BalanceUpdated.js';
export type { Case } from './generated/Case.js';
export type { CaseAction } from './generated/CaseAction.js';
export type { CaseInput } from './generated/CaseInput.js';
export type { CaseItem } from './generated/CaseItem.js';
export type { CaseItemInput } from './generated/CaseItemInput.js';
export type { CaseList } from './generated/CaseList.js';
export type { CasesUpdated } from './generated/CasesUpdated.js';
export type { ChatDeleted } from './generated/ChatDeleted.js';
export type { ChatHistory } from './generated/ChatHistory.js';
export type { ChatMessage } from './generated/ChatMessage.js';
export type { ChatMessageResponse } from './generated/ChatMessageResponse.js';
export type { ChatMuteStatus } from './generated/ChatMuteStatus.js';
export type { ChatMuted } from './generated/ChatMuted.js';
export type { CreateUserRequest } from './generated/CreateUserRequest.js';
export type { DropList } from './generated/DropList.js';
export type { DropNew } from './generated/DropNew.js';
export type { ErrorBody } from './generated/ErrorBody.js';
export type { ErrorDetail } from './generated/ErrorDetail.js';
export type { ErrorCode } from './generated/ErrorCode.js';
export type { EventEnvelope } from './generated/EventEnvelope.js';
export type { Health } from './generated/Health.js';
export type { Inventory } from './generated/Inventory.js';
export type { InventoryAction } from './generated/InventoryAction.js';
export type { InventoryItem } from './generated/InventoryItem.js';
export type { InventoryUpdated } from './generated/InventoryUpdated.js';
export type { LoginRequest } from './generated/LoginRequest.js';
export type { LoginResponse } from './generated/LoginResponse.js';
export type { MuteRequest } from './generated/MuteRequest.js';
export type { MuteResponse } from './generated/MuteResponse.js';
export type { OpenCaseResponse } from './generated/OpenCaseResponse.js';
export type { PollResponse } from './generated/PollResponse.js';
export type { Rarity } from './generated/Rarity.js';
export type { Ready } from './generated/Ready.js';
export type { RecentDrop } from './generated/RecentDrop.js';
export type { Role } from './generated/Role.js';
export type { SellResponse } from './generated/SellResponse.js';
export type { SendChatMessage } from './generated/SendChatMessage.js';
export type { ServerEvent } from './generated/ServerEvent.js';
export type { SyncReason } from './generated/SyncReason.js';
export type { SyncRequired } from './generated/SyncRequired.js';
export type { TopupRequest } from './generated/TopupRequest.js';
export type { TopupResponse } from './generated/TopupResponse.js';
export type { User } from './generated/User.js';
