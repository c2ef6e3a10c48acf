/**
 * The jsii enums the constructs export cannot be computed from the contract's lists, so
 * these tests hold them equal: a value added on one side only fails here, not in a cluster.
 */
import { Testing } from 'cdk8s';
import { BlockCleaner, BlockCleanerMethod, LogLevel, NfsProvisioner, NfsQuota, NfsServer, OnDelete } from '../../src';
import {
  BLOCK_CLEANER_KINDS, DEFAULT_CLEANER_PASSES, DEFAULT_DIRECTORY_MODE, DEFAULT_ON_DELETE, DEFAULT_QUOTA_MODE, LOG_LEVELS, ON_DELETE_VALUES,
  QUOTA_MODES,
} from '../../src/contract/values';

test('OnDelete has exactly the contract\'s onDelete values', () => {
  expect(Object.values(OnDelete)).toEqual([...ON_DELETE_VALUES]);
});

test('NfsQuota has exactly the contract\'s quota modes, and NfsServer.inCluster defaults to the contract\'s', () => {
  expect(Object.values(NfsQuota)).toEqual([...QUOTA_MODES]);
  expect(NfsServer.inCluster().inClusterOptions!.quota).toBe(DEFAULT_QUOTA_MODE);
});

test('BlockCleanerMethod has exactly the contract\'s block cleaner kinds', () => {
  expect(Object.values(BlockCleanerMethod)).toEqual([...BLOCK_CLEANER_KINDS]);
});

test('LogLevel has exactly the contract\'s log levels', () => {
  expect(Object.values(LogLevel)).toEqual([...LOG_LEVELS]);
});

test('BlockCleaner.shred() and zero() default to the contract\'s passes', () => {
  expect(BlockCleaner.shred()._toConfig()).toEqual({ kind: 'SHRED', passes: DEFAULT_CLEANER_PASSES.SHRED });
  expect(BlockCleaner.zero()._toConfig()).toEqual({ kind: 'ZERO', passes: DEFAULT_CLEANER_PASSES.ZERO });
});

test('an NfsStorageClass without options takes the contract\'s onDelete and directory mode', () => {
  const chart = Testing.chart();
  const provisioner = new NfsProvisioner(chart, 'nfs', { server: NfsServer.external({ host: '10.0.0.5', path: '/exports' }) });
  const sc = provisioner.addStorageClass('sc');
  expect(sc.onDelete).toBe(DEFAULT_ON_DELETE);
  expect(parseInt(sc.directoryMode, 8)).toBe(DEFAULT_DIRECTORY_MODE);
});
