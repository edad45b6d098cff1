// The Microsoft Graph delegated scopes the Teams connector asks for and may add, by their canonical names.

/** offline_access is what yields a refresh token. */
export const DEFAULT_SCOPES = ['offline_access', 'User.Read', 'Team.ReadBasic.All', 'Calendars.Read', 'Chat.ReadBasic'];

export const AVAILABLE_SCOPES = [
  'offline_access',
  'User.Read',
  'Team.ReadBasic.All',
  'Calendars.Read',
  'Chat.ReadBasic',
  'Chat.Read',
  'Channel.ReadBasic.All',
  'ChannelMessage.Read.All',
  'TeamMember.Read.All',
  'OnlineMeetings.Read',
  'Presence.Read',
  'Presence.Read.All',
  'Reports.Read.All',
  'openid',
  'profile',
  'email',
];
