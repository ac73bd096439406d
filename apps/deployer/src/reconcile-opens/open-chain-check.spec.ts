import { encodeEventTopics, type Hex } from 'viem';
import { escrowAbi, jobIdToBytes32 } from '@starminer/chain';
import { opensJob } from './open-chain-check';

const escrow = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512';
const requester = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';
const provider = '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc';
const openedLog = (jobId: string, address = escrow) => ({
  address: address as Hex,
  topics: encodeEventTopics({ abi: escrowAbi(), eventName: 'ComputeContractOpened', args: { jobId: jobIdToBytes32(jobId), requester, provider } }) as [Hex, ...Hex[]],
});

describe('opensJob: the receipt check the open check trusts before reading the chain', () => {
  it("given the escrow's ComputeContractOpened of the job among the logs, then true", () => {
    expect(opensJob({ logs: [openedLog('job-a'), openedLog('job-b')] as never }, escrow.toLowerCase(), 'job-b')).toBe(true);
  });

  it('given a successful transaction without that job opened (a batch that skipped it, another job, another contract), then false', () => {
    expect(opensJob({ logs: [] as never }, escrow, 'job-a')).toBe(false);
    expect(opensJob({ logs: [openedLog('job-b')] as never }, escrow, 'job-a')).toBe(false);
    expect(opensJob({ logs: [openedLog('job-a', '0x0000000000000000000000000000000000000001')] as never }, escrow, 'job-a')).toBe(false);
  });
});
