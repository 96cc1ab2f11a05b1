import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SYSTEM_ACTOR } from '../../registry/service.js';
import { openThingSpeakHarness, type ThingSpeakHarness } from './test-harness.js';

const CSRF = { 'x-halyard-csrf': '1' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('ThingSpeak channel management with the session cookie', () => {
  let h: ThingSpeakHarness;
  /** `halyard_session=…` of the harness's tenant admin, and of a person of another tenant. */
  let cookie: string;
  let otherCookie: string;
  const sessionOf = async (userId: string) => {
    const user = await h.registry.getUser(SYSTEM_ACTOR, userId);
    const { token } = await h.registry.createSession(user, { address: '127.0.0.1', via: 'http' });
    return `halyard_session=${token}`;
  };
  const channelCount = async () => (await h.channels.listChannels(h.actor)).length;

  before(async () => {
    h = await openThingSpeakHarness();
    cookie = await sessionOf(h.actor.id);
    await h.registry.createTenant(SYSTEM_ACTOR, { id: 'globex', name: 'Globex' });
    const other = await h.registry.createUser(SYSTEM_ACTOR, {
      username: 'globex-admin',
      password: 'pw-globex-admin-0123',
      role: 'admin',
      tenantId: 'globex',
    });
    otherCookie = await sessionOf(other.id);
  });
  after(() => h.close());

  it('reads: list and show', async () => {
    const list = await h.fetch('/channels.json', { headers: { cookie } });
    assert.equal(list.status, 200);
    const ids = ((await list.json()) as Array<{ id: number }>).map((c) => c.id);
    assert.deepEqual(ids, [h.ch.channel.id]);
    const shown = await h.fetch(`/channels/${h.ch.channel.id}.xml`, { headers: { cookie } });
    assert.equal(shown.status, 200);
    assert.match(await shown.text(), /<name>Weather<\/name>/);
  });

  it('writes with the CSRF header: create, update, clear, delete', async () => {
    const headers = { cookie, ...CSRF, ...FORM };
    const created = await h.fetch('/channels.json', {
      method: 'POST',
      headers,
      body: 'name=Cookie&field1=t',
    });
    assert.equal(created.status, 200);
    const { id } = (await created.json()) as { id: number };
    const put = await h.fetch(`/channels/${id}.json`, { method: 'PUT', headers, body: 'name=Renamed' });
    assert.equal(((await put.json()) as { name: string }).name, 'Renamed');
    const cleared = await h.fetch(`/channels/${id}/feeds.json`, { method: 'DELETE', headers });
    assert.equal(await cleared.text(), '[]');
    const deleted = await h.fetch(`/channels/${id}.json`, { method: 'DELETE', headers });
    assert.equal(((await deleted.json()) as { id: number }).id, id);
    assert.equal((await h.fetch(`/channels/${id}.json`, { headers: { cookie } })).status, 404);
  });

  it('refuses a write without the CSRF header, or from another origin, with 403 and changes nothing', async () => {
    const before = await channelCount();
    const bare = await h.fetch('/channels.json', {
      method: 'POST',
      headers: { cookie, ...FORM },
      body: 'name=Forged',
    });
    assert.equal(bare.status, 403);
    const body = (await bare.json()) as { error: { error_code: string; details: string } };
    assert.equal(body.error.error_code, 'error_forbidden');
    assert.match(body.error.details, /x-halyard-csrf: 1/);
    const crossOrigin = await h.fetch(`/channels/${h.ch.channel.id}.json`, {
      method: 'DELETE',
      headers: { cookie, ...CSRF, origin: 'https://evil.example' },
    });
    assert.equal(crossOrigin.status, 403);
    assert.match(await crossOrigin.text(), /Origin/);
    assert.equal(await channelCount(), before);
  });

  it("answers 404 for another tenant's channel, as with its user API key", async () => {
    const id = h.ch.channel.id;
    assert.equal((await h.fetch(`/channels/${id}.json`, { headers: { cookie: otherCookie } })).status, 404);
    const del = await h.fetch(`/channels/${id}.json`, {
      method: 'DELETE',
      headers: { cookie: otherCookie, ...CSRF },
    });
    assert.equal(del.status, 404);
    const list = await h.fetch('/channels.json', { headers: { cookie: otherCookie } });
    assert.deepEqual(await list.json(), []);
    assert.equal(await channelCount(), 1);
  });

  it('401 for an ended session; a user API key, when given, decides alone', async () => {
    const ended = await sessionOf(h.actor.id);
    await h.registry.endSession(ended.slice('halyard_session='.length));
    assert.equal((await h.fetch('/channels.json', { headers: { cookie: ended } })).status, 401);
    // A wrong key with a good cookie is the wrong key's 401, exactly as without the cookie.
    const wrongKey = await h.fetch('/channels.json?api_key=bad', { headers: { cookie } });
    assert.equal(wrongKey.status, 401);
    // And a good key needs no CSRF header, cookie or not: ThingSpeak clients send none.
    const keyed = await h.fetch('/channels.json', {
      method: 'POST',
      headers: { cookie: otherCookie, ...FORM },
      body: `api_key=${h.userKey}&name=Keyed`,
    });
    assert.equal(keyed.status, 200);
    assert.equal(await channelCount(), 2, 'created in the key holder’s tenant');
  });
});
