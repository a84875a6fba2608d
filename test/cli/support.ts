/**
 * The CLI suites' shared setup: both emulators seeded with the small estate, and Azurite as the Function App's
 * storage (AzureWebJobsStorage), where `reconcile` takes the app's run lock.
 */
import { startAzurite, type AzuriteHandle } from '../support/azurite.js';
import { seedSmallEstate, startHarness, type Harness } from '../reconcile/harness.js';

export async function startCliHarness(): Promise<{ h: Harness; azurite: AzuriteHandle }> {
  const azurite = await startAzurite();
  const h = await startHarness({ AzureWebJobsStorage: azurite.connectionString });
  seedSmallEstate(h.arg);
  return { h, azurite };
}

export async function stopCliHarness(h: Harness | undefined, azurite: AzuriteHandle | undefined): Promise<void> {
  await h?.close();
  await azurite?.stop();
}
