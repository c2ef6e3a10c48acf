/** The volume backend for each `--quota` mode (backend.ts describes the seam). */
import type { VolumeBackend } from './backend';
import { DirectoryBackend } from './directory-backend';
import type { ServerLayout } from './layout';
import { LoopImageBackend } from './loop-image-backend';
import { XfsProjectBackend } from './xfs-project-backend';
import type { QuotaMode } from '../../contract/values';
import type { CommandRunner } from '../core/command';

export interface BackendOptions {
  readonly layout: ServerLayout;
  readonly run: CommandRunner;
  /** Allocate loop images up front (loop-image only; the other modes have no image to allocate). */
  readonly preallocate: boolean;
}

export function volumeBackend(mode: QuotaMode, options: BackendOptions): VolumeBackend {
  switch (mode) {
    case 'loop-image': return new LoopImageBackend(options.layout, options.run, options.preallocate);
    case 'none': return new DirectoryBackend(options.layout);
    case 'xfs-project': return new XfsProjectBackend(options.layout, options.run);
  }
}
