/**
 * Azure Resource Notifications (`Microsoft.ResourceNotifications.Resources`, preview): the opt-in second source of
 * events, delivered to the same queue. Their `data.resourceInfo` carries the resource (id, name, type, location,
 * tags, properties), and `operationalInfo.resourceEventTime` when it changed.
 *
 * How they are used: a `CreatedOrUpdated` is a write hint whose payload fields (armNormalize.ts NOTIFICATION_FIELDS)
 * are laid over the row read for the id, so a lagging row cannot hold back the fields the payload carries; `kind`,
 * `sku` and `managedBy` are not in the payload and always come from the read. A payload never creates an entity on
 * its own (a proven-absent row stays absent), and one older than the newest event known for the id is not used:
 * `resourceEventTime` orders them, so a late notification never overwrites newer state. `Deleted` is a delete hint
 * like ResourceDeleteSuccess. Types and containers the notifications do not cover still get the Microsoft.Resources
 * events, read back as before.
 */
import { z } from 'zod';
import { notificationFields } from '../../azure/armNormalize.js';
import type { ArgRow } from '../../azure/types.js';

export const NOTIFICATION_TYPES = ['Microsoft.ResourceNotifications.Resources.CreatedOrUpdated', 'Microsoft.ResourceNotifications.Resources.Deleted'] as const;

export interface NotificationInfo {
  /** When the resource changed (operationalInfo.resourceEventTime; the event time when absent). */
  resourceEventTime?: Date;
  /** CreatedOrUpdated only: the payload's fields in Resource Graph's form. */
  fields?: Partial<ArgRow>;
}

export function isNotificationType(type: string): type is (typeof NOTIFICATION_TYPES)[number] {
  return (NOTIFICATION_TYPES as readonly string[]).includes(type);
}

const dataSchema = z.object({
  resourceInfo: z.object(
    { id: z.string({ error: 'data.resourceInfo.id is missing or not a string' }).min(1, 'data.resourceInfo.id is empty') },
    { error: 'data.resourceInfo is missing or not an object' },
  ),
  operationalInfo: z
    .object({
      resourceEventTime: z
        .string({ error: 'data.operationalInfo.resourceEventTime is not a string' })
        .refine((v) => !Number.isNaN(Date.parse(v)), { message: 'data.operationalInfo.resourceEventTime is not a date-time' })
        .optional(),
    })
    .optional(),
});

/** The notification's id and what it carries, or why it is malformed. */
export function parseNotificationData(data: unknown, type: (typeof NOTIFICATION_TYPES)[number]): { resourceId: string; info: NotificationInfo } | { reason: string } {
  const record = (data ?? {}) as Record<string, unknown>;
  // The SDK's models name it resourceDetails (x-ms-client-name); the wire name is resourceInfo.
  const normalized = record.resourceInfo === undefined && record.resourceDetails !== undefined ? { ...record, resourceInfo: record.resourceDetails } : record;
  const parsed = dataSchema.safeParse(normalized);
  if (!parsed.success) return { reason: parsed.error.issues[0]?.message ?? 'invalid Resource Notifications data' };
  const at = parsed.data.operationalInfo?.resourceEventTime;
  const info: NotificationInfo = at ? { resourceEventTime: new Date(at) } : {};
  if (type === 'Microsoft.ResourceNotifications.Resources.CreatedOrUpdated') {
    const fields = notificationFields(normalized.resourceInfo);
    if (fields instanceof Error) return { reason: fields.message };
    info.fields = fields;
  }
  return { resourceId: parsed.data.resourceInfo.id, info };
}
