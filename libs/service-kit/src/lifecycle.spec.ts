import 'reflect-metadata';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Global, Injectable, Module, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { stopStep, Ticker } from './lifecycle';

const ROOT = resolve(__dirname, '../../..');

describe('Ticker', () => {
  it('given a round in progress, when it stops, then it resolves only once that round ended, and no round starts after', async () => {
    let release!: () => void;
    const rounds: string[] = [];
    const ticker = new Ticker('spec', 60_000, async () => {
      rounds.push('began');
      await new Promise<void>((r) => (release = r));
      rounds.push('ended');
    });
    const tick = ticker.tick();
    let stopped = false;
    const stop = ticker.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release();
    await stop;
    await tick;
    expect(rounds).toEqual(['began', 'ended']);
    await ticker.tick();
    expect(rounds).toEqual(['began', 'ended']);
  });
});

describe('stopStep', () => {
  it('names a step that runs past its interval, once per interval, and returns what the step returned', async () => {
    const warnings: string[] = [];
    const out = await stopStep((l) => warnings.push(l), 'the slow part', () => new Promise((r) => setTimeout(() => r(42), 130)), 50);
    expect(out).toBe(42);
    expect(warnings.length).toBe(2);
    expect(warnings[0]).toMatch(/^stopping: still waiting for the slow part after \d+ ms$/);
  });

  it('says nothing about a quick step, and passes its failure on', async () => {
    const warnings: string[] = [];
    await expect(stopStep((l) => warnings.push(l), 'a failing part', () => Promise.reject(new Error('boom')), 50)).rejects.toThrow('boom');
    await new Promise((r) => setTimeout(r, 80));
    expect(warnings).toEqual([]);
  });
});

describe('the order a service stops in', () => {
  it("stops every module's work (onModuleDestroy) before the first shutdown hook, and closes the kit (a global module) last", async () => {
    const order: string[] = [];
    @Injectable()
    class Kit implements OnApplicationShutdown {
      onApplicationShutdown() {
        order.push('kit closes the log and the database');
      }
    }
    @Global()
    @Module({ providers: [Kit], exports: [Kit] })
    class KitModule {}
    const work = (name: string) => {
      @Injectable()
      class Work implements OnModuleDestroy, OnApplicationShutdown {
        onModuleDestroy() {
          order.push(`${name} stops its work`);
        }
        onApplicationShutdown() {
          order.push(`${name} shuts down`);
        }
      }
      return Work;
    };
    @Module({ providers: [work('feature')] })
    class FeatureModule {}
    @Module({ imports: [KitModule, FeatureModule], providers: [work('root')] })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    await app.close();
    expect(order).toEqual(['root stops its work', 'feature stops its work', 'root shuts down', 'feature shuts down', 'kit closes the log and the database']);
  });

  it('has every service stop its own work in onModuleDestroy, so all of it has ended before the first module shuts down', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts') && !name.endsWith('.spec.ts') && /onApplicationShutdown\s*\(/.test(readFileSync(path, 'utf8'))) offenders.push(relative(ROOT, path));
      }
    };
    for (const app of readdirSync(join(ROOT, 'apps'))) {
      const src = join(ROOT, 'apps', app, 'src');
      if (statSync(join(ROOT, 'apps', app)).isDirectory() && readdirSync(join(ROOT, 'apps', app)).includes('src')) walk(src);
    }
    expect(offenders).toEqual([]);
  });
});
