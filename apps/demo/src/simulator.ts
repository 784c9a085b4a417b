import type { EventInput, EventName } from '@hooks/core';
import type { BroadcastEvents } from '@hooks/fixture-broadcast-events';

/** An event type of the broadcast catalog. */
export type BroadcastEventType = EventName<BroadcastEvents>;

/** One event the simulator produced: a type and its payload, ready for `sender.send`. */
export interface SimulatedEvent<TName extends BroadcastEventType = BroadcastEventType> {
  /** The event type. */
  type: TName;
  /** The payload, valid against the catalog's schema. */
  data: EventInput<BroadcastEvents, TName>;
}

/** The order a broadcast goes through, used by the "run a whole broadcast" button. */
export const LIFECYCLE: readonly BroadcastEventType[] = [
  'event.created',
  'event.published',
  'session.created',
  'registrant.created',
  'registrant.created',
  'registrant.created',
  'session.started',
  'registrant.attended',
  'registrant.attended',
  'session.ended',
  'broadcast.summary',
];

const TITLES = ['Quarterly product update', 'Onboarding live Q&A', 'Scaling webhooks in production', 'Customer stories: live', 'Release notes walkthrough', 'Security office hours'];
const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Katherine', 'Linus', 'Margaret', 'Tim', 'Radia', 'Dennis', 'Barbara', 'Zoë', 'Ólafur'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Johnson', 'Torvalds', 'Hamilton', 'Berners-Lee', 'Perlman', 'Ritchie', 'Liskov', 'Ångström', 'Ragnarsson'];
const UTM_SOURCES = ['newsletter', 'linkedin', 'partner', null, null];
const TIMEZONES = ['Europe/Paris', 'America/New_York', 'Asia/Tokyo', 'Europe/London'];
const SITE = 'https://broadcast.example.com';

interface EventRecord {
  id: string;
  title: string;
  slug: string;
  status: 'draft' | 'published' | 'archived';
  estimatedDurationMinutes: number;
  createdAt: string;
}

interface SessionRecord {
  id: string;
  eventId: string;
  status: 'draft' | 'upcoming' | 'live' | 'past' | 'canceled';
  timezone: string;
  startsAt: string;
  startedAt: string | null;
  registrants: Array<{ id: string; email: string; firstName: string; lastName: string; watchedMinutes: number | null }>;
}

/** Makes realistic, mutually consistent broadcast activity: a registrant registers for a session that exists, attends one that is live, and so on. */
export interface Simulator {
  /** The next event of this type, moving the simulated world forward. */
  next<TName extends BroadcastEventType>(type: TName): SimulatedEvent<TName>;
}

/** Options of {@link createSimulator}. */
export interface SimulatorOptions {
  /** Clock, for tests. @default Date.now */
  now?: () => number;
  /** Random numbers in [0, 1), for reproducible runs. @default Math.random */
  random?: () => number;
}

/** Creates a {@link Simulator} with an empty world. */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const events: EventRecord[] = [];
  const sessions: SessionRecord[] = [];
  let counter = 0;

  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const id = (prefix: string): string => `${prefix}_${(now() + counter++).toString(36)}${Math.floor(random() * 1296).toString(36).padStart(2, '0')}`;
  const iso = (time: number): string => new Date(time).toISOString();

  function newEvent(): EventRecord {
    const title = pick(TITLES);
    const record: EventRecord = {
      id: id('evt'),
      title,
      slug: title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, ''),
      status: 'draft',
      estimatedDurationMinutes: pick([30, 45, 60, 90]),
      createdAt: iso(now()),
    };
    events.push(record);
    return record;
  }

  const latestEvent = (): EventRecord => events.at(-1) ?? newEvent();

  function publishedEvent(): EventRecord {
    const event = latestEvent();
    event.status = 'published';
    return event;
  }

  function newSession(): SessionRecord {
    const event = publishedEvent();
    const record: SessionRecord = {
      id: id('ses'),
      eventId: event.id,
      status: 'upcoming',
      timezone: pick(TIMEZONES),
      // Broadcasts are scheduled on the hour, a day or two ahead.
      startsAt: iso(Math.ceil((now() + (1 + Math.floor(random() * 2)) * 86_400_000) / 3_600_000) * 3_600_000),
      startedAt: null,
      registrants: [],
    };
    sessions.push(record);
    return record;
  }

  const latestSession = (): SessionRecord => sessions.at(-1) ?? newSession();

  function liveSession(): SessionRecord {
    let session = latestSession();
    if (session.status === 'past') session = newSession();
    if (session.status !== 'live') {
      session.status = 'live';
      session.startedAt = iso(now());
    }
    return session;
  }

  function register(session: SessionRecord): SessionRecord['registrants'][number] {
    const firstName = pick(FIRST_NAMES);
    const lastName = pick(LAST_NAMES);
    const local = `${firstName}.${lastName}`
      .normalize('NFD')
      .replace(/[^A-Za-z.]/g, '')
      .toLowerCase();
    const registrant = { id: id('reg'), email: `${local}${session.registrants.length + 1}@example.com`, firstName, lastName, watchedMinutes: null };
    session.registrants.push(registrant);
    return registrant;
  }

  const eventResource = (event: EventRecord) => ({
    id: event.id,
    title: event.title,
    slug: event.slug,
    status: event.status,
    registrationLink: `${SITE}/p/${event.id}`,
    estimatedDurationMinutes: event.estimatedDurationMinutes,
    createdAt: event.createdAt,
  });
  const sessionResource = (session: SessionRecord) => ({
    id: session.id,
    eventId: session.eventId,
    status: session.status,
    timezone: session.timezone,
    startsAt: session.startsAt,
    roomLink: `${SITE}/live/${session.id}`,
  });
  const person = (registrant: SessionRecord['registrants'][number]) => ({ id: registrant.id, email: registrant.email, firstName: registrant.firstName, lastName: registrant.lastName });

  const makers: { [TName in BroadcastEventType]: () => EventInput<BroadcastEvents, TName> } = {
    'event.created': () => ({ event: eventResource(newEvent()) }),
    'event.published': () => ({ event: eventResource(publishedEvent()), publishedAt: iso(now()) }),
    'session.created': () => ({ session: sessionResource(newSession()) }),
    'registrant.created': () => {
      let session = latestSession();
      if (session.status === 'past') session = newSession();
      const registrant = register(session);
      return { registrant: person(registrant), eventId: session.eventId, sessionId: session.id, registeredAt: iso(now()), utmSource: pick(UTM_SOURCES) };
    },
    'session.started': () => {
      const session = liveSession();
      return { session: sessionResource(session), startedAt: session.startedAt ?? iso(now()) };
    },
    'registrant.attended': () => {
      const session = liveSession();
      const registrant = session.registrants.find((entry) => entry.watchedMinutes === null) ?? register(session);
      registrant.watchedMinutes = 5 + Math.floor(random() * 55);
      return { registrant: person(registrant), sessionId: session.id, joinedAt: iso(now()), watchedMinutes: registrant.watchedMinutes };
    },
    'session.ended': () => {
      const session = liveSession();
      session.status = 'past';
      return { session: sessionResource(session), endedAt: iso(now()), attendeesCount: session.registrants.filter((entry) => entry.watchedMinutes !== null).length };
    },
    'broadcast.summary': () => {
      const session = latestSession();
      const attendees = session.registrants.filter((entry) => entry.watchedMinutes !== null);
      const watched = attendees.reduce((total, entry) => total + (entry.watchedMinutes ?? 0), 0);
      return {
        sessionId: session.id,
        eventId: session.eventId,
        registrants: session.registrants.length,
        attendees: attendees.length,
        averageWatchMinutes: attendees.length === 0 ? 0 : Math.round((watched / attendees.length) * 10) / 10,
        replayUrl: session.status === 'past' ? `${SITE}/replay/${session.id}` : null,
      };
    },
  };

  return {
    next(type) {
      const make = makers[type] as (() => EventInput<BroadcastEvents, typeof type>) | undefined;
      if (!make) throw new TypeError(`The simulator has no event "${String(type)}".`);
      return { type, data: make() };
    },
  };
}
