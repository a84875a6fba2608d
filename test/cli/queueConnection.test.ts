import { describe, expect, it } from 'vitest';
import { queueConnectionFrom } from '../../shared/azure/storageQueue.js';

describe('queueConnectionFrom', () => {
  it('prefers flags, then the app settings the function reads, then local Azurite', () => {
    expect(queueConnectionFrom({ connection: 'UseDevelopmentStorage=true' }, { AzureWebJobsStorage__accountName: 'x' })).toEqual({
      connectionString: 'UseDevelopmentStorage=true',
    });
    expect(queueConnectionFrom({ queueServiceUri: 'https://a.queue.core.windows.net' }, {})).toEqual({
      queueServiceUri: 'https://a.queue.core.windows.net',
    });
    expect(queueConnectionFrom({}, { AzureWebJobsStorage: 'cs' })).toEqual({ connectionString: 'cs' });
    expect(
      queueConnectionFrom({}, { AzureWebJobsStorage__queueServiceUri: 'https://b.queue.core.windows.net', AzureWebJobsStorage__clientId: 'id' }),
    ).toEqual({ queueServiceUri: 'https://b.queue.core.windows.net', clientId: 'id' });
    expect(queueConnectionFrom({}, { AzureWebJobsStorage__accountName: 'acct' })).toEqual({
      queueServiceUri: 'https://acct.queue.core.windows.net',
    });
    expect(queueConnectionFrom({}, {})).toEqual({ connectionString: 'UseDevelopmentStorage=true' });
  });
});
