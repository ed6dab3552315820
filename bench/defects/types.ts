import type { Tier } from '../../src/core/quality';

export interface Turn {
  role: 'user' | 'assistant';
  content: string;
}

export interface CleanConversation {
  id: string;
  domain: string;
  tier: Tier;
  turns: Turn[];
}
