/**
 * What the RAUC-style profiles (U-Boot `BOOT_ORDER`, GRUB `ORDER`) share: an order is a list of
 * bootnames, read and rewritten here. Tokens that are not ours (a recovery slot) are preserved in
 * place, so we never drop a slot another tool manages.
 *
 * No I/O. Safe for concurrent use.
 *
 * @module
 */
import { otherSlot, SLOT_NAMES, type SlotName } from '../slot-controller.js';

/** The tokens of an order variable (`BOOT_ORDER`, `ORDER`); absent → `fallback`. */
export function parseOrder(raw: string | undefined, fallback: string): string[] {
  return (raw ?? fallback).split(/\s+/).filter((t) => t !== '');
}

/** Our slots in boot order (each once), skipping tokens that are not ours. */
export function orderSlots(order: readonly string[], names: Record<SlotName, string>): SlotName[] {
  const slots: SlotName[] = [];
  for (const token of order) {
    const slot = SLOT_NAMES.find((s) => names[s] === token);
    if (slot && !slots.includes(slot)) slots.push(slot);
  }
  return slots;
}

/** The order with `first` then `second` in front, other tokens kept after them. */
export function withFirst(order: readonly string[], first: string, second: string): string {
  const rest = order.filter((t) => t !== first && t !== second);
  return [first, second, ...rest].join(' ');
}

/** The order without `name`. */
export function without(order: readonly string[], name: string): string {
  return order.filter((t) => t !== name).join(' ');
}

/**
 * The other slot if it stands before the booted one in the order, so a switch to it is pending;
 * `null` if it is absent or after the booted slot (nothing to cancel).
 */
export function pendingSwitch(slots: readonly SlotName[], booted: SlotName): SlotName | null {
  const other = otherSlot(booted);
  const at = slots.indexOf(other);
  return at === -1 || at > slots.indexOf(booted) ? null : other;
}

/**
 * The order, as written back on confirming `booted`, without the other slots that are listed but
 * `exhausted` (a failed trial), so a later "reset all counters" cannot retry them.
 */
export function withoutExhausted(
  order: readonly string[],
  names: Record<SlotName, string>,
  booted: SlotName,
  exhausted: (slot: SlotName) => boolean,
): string {
  let kept = order;
  for (const s of SLOT_NAMES)
    if (s !== booted && exhausted(s)) kept = kept.filter((t) => t !== names[s]);
  return kept.join(' ');
}
