import { EXAMPLE_EVENT_DATA, type COMMANDS, type EventData, type PayloadOf } from '@starminer/events';

/** What the registry's specs build registrations from (a valid H100 node of the catalogue's example). */
export type Registration = PayloadOf<typeof COMMANDS.registry.registerNode>['registration'];

/** A node key: `0x` and twenty times the byte. */
export const nodeKey = (byte: string): string => `0x${byte.repeat(20)}`;

export function registration(nodeId: string, over: Partial<Registration> = {}): Registration {
  const { nodeAddress: _key, reputation: _reputation, ...rest } = EXAMPLE_EVENT_DATA.NodeRegistered;
  return { ...rest, nodeId, ...over };
}

/** NodeRegistered as an older registry wrote it, straight to the log (no key bound). */
export function nodeRegisteredDraft(nodeId: string, nodeAddress: string): { type: 'NodeRegistered'; data: EventData<'NodeRegistered'> } {
  return { type: 'NodeRegistered', data: { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId, nodeAddress } };
}
