/**
 * The hooks every NFS and resize e2e file needs: deploy the file's provisioner before its
 * tests (optionally start one controller replica and wait for what the tests assume), and
 * after them stop every controller the file started before removing what was deployed, so
 * no controller acts on a half-deleted deployment. Call once at the top level of a file.
 *
 *   let d: NfsDeployment;
 *   const nfs = useNfsDeployment({ deploy: async () => (d = await deployNfs(env, { ... })), startController: true });
 *   test('...', async () => { await nfs.controller.kill('SIGKILL'); });
 */
import { ControllerProcess, Controllers, useControllers } from './controller';

/** What the hook needs of a deployment (NfsDeployment and ResizeApp are both). */
export interface NfsControllerTarget {
  startController(controllers: Controllers): Promise<ControllerProcess>;
  cleanUp(): Promise<void>;
}

export interface NfsDeploymentOptions<D extends NfsControllerTarget> {
  /** Synthesizes and applies the file's provisioner (runs in beforeAll). */
  readonly deploy: () => Promise<D>;
  /** Start one controller replica before the tests (`controller`). @default false */
  readonly startController?: boolean;
  /** Runs last in beforeAll: what every test of the file needs ready (claims Bound, ...). */
  readonly ready?: (deployment: D) => Promise<void>;
  /** Runs in afterAll once the controllers are stopped, before the deployment is removed. */
  readonly cleanUp?: () => Promise<void>;
}

export interface NfsDeploymentHook<D> {
  /** The file's controllers (403 scan after each test, stopped after all). */
  readonly controllers: Controllers;
  /** The deployment (from beforeAll on). */
  readonly deployment: D;
  /** The replica started by `startController` (from beforeAll on). */
  readonly controller: ControllerProcess;
}

export function useNfsDeployment<D extends NfsControllerTarget>(options: NfsDeploymentOptions<D>): NfsDeploymentHook<D> {
  const controllers = useControllers();
  let deployment: D | undefined;
  let controller: ControllerProcess | undefined;

  beforeAll(async () => {
    deployment = await options.deploy();
    if (options.startController) controller = await deployment.startController(controllers);
    await options.ready?.(deployment);
  });

  afterAll(async () => {
    try {
      await controllers.stopAll();
    } finally {
      await options.cleanUp?.();
      await deployment?.cleanUp();
    }
  });

  return {
    controllers,
    get deployment(): D {
      if (!deployment) throw new Error('no deployment yet: it is made in beforeAll');
      return deployment;
    },
    get controller(): ControllerProcess {
      if (!controller) throw new Error('no controller: pass startController: true (it starts in beforeAll)');
      return controller;
    },
  };
}
