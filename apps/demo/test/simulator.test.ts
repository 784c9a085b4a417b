import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { describe, expect, it } from 'vitest';
import { LIFECYCLE, createSimulator } from '../src/simulator';

describe('simulator', () => {
  it('makes every event type valid against the catalog', async () => {
    const simulator = createSimulator();
    for (const type of broadcastEvents.names) {
      const event = simulator.next(type);
      expect(event.type).toBe(type);
      await expect(broadcastEvents.validate(type, event.data)).resolves.toBeDefined();
    }
  });

  it('plays a consistent broadcast: registrants attend the session they registered for, the summary counts them', async () => {
    let clock = Date.parse('2026-11-23T10:00:00.000Z');
    const simulator = createSimulator({ now: () => (clock += 1_000), random: () => 0.5 });
    const events = LIFECYCLE.map((type) => simulator.next(type));
    for (const event of events) await broadcastEvents.validate(event.type, event.data);
    const first = <T>(type: string): T => {
      const found = events.find((event) => event.type === type);
      if (!found) throw new Error(`no ${type} in the lifecycle`);
      return found.data as T;
    };

    const created = first<{ event: { id: string; status: string } }>('event.created');
    const published = first<{ event: { id: string; status: string } }>('event.published');
    expect(created.event.status).toBe('draft');
    expect(published.event).toMatchObject({ id: created.event.id, status: 'published' });

    const session = first<{ session: { id: string; eventId: string; status: string } }>('session.created').session;
    expect(session).toMatchObject({ eventId: created.event.id, status: 'upcoming' });

    const registrations = events.filter((event) => event.type === 'registrant.created').map((event) => event.data as { registrant: { id: string; email: string }; sessionId: string });
    expect(registrations).toHaveLength(3);
    expect(registrations.every((registration) => registration.sessionId === session.id)).toBe(true);
    expect(new Set(registrations.map((registration) => registration.registrant.email)).size).toBe(3);

    const attended = events.filter((event) => event.type === 'registrant.attended').map((event) => event.data as { registrant: { id: string }; sessionId: string; watchedMinutes: number });
    expect(attended.map((entry) => entry.registrant.id)).toEqual(registrations.slice(0, 2).map((registration) => registration.registrant.id));
    expect(attended.every((entry) => entry.sessionId === session.id)).toBe(true);

    const ended = first<{ session: { status: string }; attendeesCount: number }>('session.ended');
    expect(ended).toMatchObject({ session: { status: 'past' }, attendeesCount: 2 });

    const summary = first<{ registrants: number; attendees: number; averageWatchMinutes: number; replayUrl: string | null }>('broadcast.summary');
    const average = (attended[0]!.watchedMinutes + attended[1]!.watchedMinutes) / 2;
    expect(summary).toMatchObject({ registrants: 3, attendees: 2, averageWatchMinutes: Math.round(average * 10) / 10 });
    expect(summary.replayUrl).toMatch(/^https:\/\/broadcast\.example\.com\/replay\/ses_/);
  });

  it('starts a new session once the last one ended', () => {
    const simulator = createSimulator();
    const first = (simulator.next('session.ended').data as { session: { id: string } }).session.id;
    const registration = simulator.next('registrant.created').data as { sessionId: string };
    expect(registration.sessionId).not.toBe(first);
  });

  it('refuses an event type it does not know', () => {
    expect(() => createSimulator().next('invoice.paid' as never)).toThrow(TypeError);
  });
});
