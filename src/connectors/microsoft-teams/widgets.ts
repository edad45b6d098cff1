// The Microsoft Teams widgets: calendar (default scopes) and chats (Chat.Read, asked for on connect).
import { calendarWidgets } from './calendar-widgets.js';
import { chatWidgets } from './chat-widgets.js';

export const widgets = { ...calendarWidgets, ...chatWidgets };
