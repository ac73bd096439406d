import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsNotEmpty, IsNumberString, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateNested,
  IsNumber, Length,
} from 'class-validator';
import { CATEGORIES, LATENCY_PREFERENCES, URGENCIES, WEI_DECIMAL } from '@starminer/events';
import { GPU_MODELS } from '@starminer/domain';
import { LIMITS } from '@starminer/events';

const WEI = WEI_DECIMAL;
const WEI_MESSAGE = 'must be a non-negative integer in AGPU base units, as a decimal string';

export class CreateOrgDto {
  @ApiProperty({ example: 'Acme Research' }) @IsString() @IsNotEmpty() @MaxLength(200) name!: string;
}

export class FaucetDto {
  @ApiProperty({ example: '1000000000000000000000', description: 'AGPU base units (18 decimals)' }) @Matches(WEI, { message: `amountWei ${WEI_MESSAGE}` }) amountWei!: string;
}

export class RequirementsDto {
  @ApiProperty({ example: ['RTX4090'], enum: Object.keys(GPU_MODELS), isArray: true }) @IsArray() @ArrayMaxSize(32) @IsString({ each: true }) gpuModels!: string[];
  @ApiProperty({ example: 1 }) @IsInt() @Min(0) @Max(LIMITS.gpusPerNodeMax) gpuCount!: number;
  @ApiProperty({ example: 16 }) @IsInt() @Min(0) @Max(4096) minVramGiB!: number;
  @ApiProperty({ example: false }) @IsBoolean() tee!: boolean;
  @ApiProperty({ example: [], isArray: true }) @IsArray() @ArrayMaxSize(32) @IsString({ each: true }) regions!: string[];
  @ApiPropertyOptional({ example: 50 }) @IsOptional() @IsInt() @Min(1) @Max(10_000) maxLatencyMs?: number;
}

export class WorkloadDto {
  @ApiProperty({ enum: ['hash-chain', 'matmul', 'command'] }) @IsIn(['hash-chain', 'matmul', 'command']) kind!: 'hash-chain' | 'matmul' | 'command';
  @ApiPropertyOptional({ example: 'my-seed' }) @IsOptional() @IsString() @MaxLength(256) seed?: string;
  @ApiPropertyOptional({ example: 10000 }) @IsOptional() @IsInt() @Min(1) @Max(50_000_000) iterations?: number;
  @ApiPropertyOptional({ example: 64 }) @IsOptional() @IsInt() @Min(1) @Max(512) size?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(512) image?: string;
  @ApiPropertyOptional({ isArray: true }) @IsOptional() @IsArray() @ArrayMaxSize(64) @IsString({ each: true }) command?: string[];
}

export class SubmitJobDto {
  @ApiProperty({ enum: CATEGORIES }) @IsIn(CATEGORIES as unknown as string[]) category!: (typeof CATEGORIES)[number];
  @ApiProperty({ example: '5000000000000000000', description: 'the most the job may cost, AGPU base units' }) @Matches(WEI, { message: `budgetWei ${WEI_MESSAGE}` }) budgetWei!: string;
  @ApiProperty({ enum: URGENCIES }) @IsIn(URGENCIES as unknown as string[]) urgency!: (typeof URGENCIES)[number];
  @ApiProperty({ enum: LATENCY_PREFERENCES }) @IsIn(LATENCY_PREFERENCES as unknown as string[]) latencyPreference!: (typeof LATENCY_PREFERENCES)[number];
  @ApiProperty({ type: RequirementsDto }) @ValidateNested() @Type(() => RequirementsDto) requirements!: RequirementsDto;
  @ApiProperty({ example: 60 }) @IsInt() @Min(1) @Max(LIMITS.expectedRuntimeSecMax) expectedRuntimeSec!: number;
  @ApiPropertyOptional({ example: 600, description: 'seconds after the contract opens by which the result must be in; default 10x runtime, at least 300' })
  @IsOptional() @IsInt() @Min(1) @Max(LIMITS.deadlineSecMax) deadlineSec?: number;
  @ApiPropertyOptional({ example: false }) @IsOptional() @IsBoolean() green?: boolean;
  @ApiProperty({ type: WorkloadDto }) @ValidateNested() @Type(() => WorkloadDto) workload!: WorkloadDto;
}

export class EnergyDto {
  @ApiProperty() @IsNumber() @Min(0) @Max(2000) carbonGPerKwh!: number;
  @ApiProperty() @IsNumber() @Min(0) @Max(1) renewableShare!: number;
}

export class BenchmarkDto {
  @ApiProperty() @IsString() @MaxLength(64) kind!: string;
  @ApiProperty() @IsNumber() @Min(0) score!: number;
  @ApiProperty() @IsString() @MaxLength(64) measuredAt!: string;
}

export class RegisterNodeDto {
  @ApiProperty() @Matches(/^[A-Za-z0-9_-]{1,128}$/) nodeId!: string;
  @ApiProperty() @Matches(/^[A-Za-z0-9_-]{1,128}$/) providerId!: string;
  @ApiProperty({ enum: Object.keys(GPU_MODELS) }) @IsString() @MaxLength(64) gpuModel!: string;
  @ApiProperty() @IsInt() @Min(1) @Max(64) gpuCount!: number;
  @ApiProperty() @IsInt() @Min(1) @Max(4096) vramGiB!: number;
  @ApiProperty() @IsString() @Length(1, 64) region!: string;
  @ApiProperty() @IsInt() @Min(0) @Max(10_000) latencyMs!: number;
  @ApiProperty() @IsBoolean() tee!: boolean;
  @ApiProperty({ type: EnergyDto }) @ValidateNested() @Type(() => EnergyDto) energy!: EnergyDto;
  @ApiProperty({ type: BenchmarkDto }) @ValidateNested() @Type(() => BenchmarkDto) benchmark!: BenchmarkDto;
  @ApiProperty({ example: '0' }) @Matches(WEI, { message: `stakeWei ${WEI_MESSAGE}` }) stakeWei!: string;
  @ApiPropertyOptional({ description: 'the staking pool this node stakes in (its stake is then read from the chain)' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,128}$/)
  poolId?: string;
  @ApiProperty({ isArray: true, enum: ['hash-chain', 'matmul', 'command'] }) @IsArray() @ArrayMaxSize(8) @IsIn(['hash-chain', 'matmul', 'command'], { each: true }) runtimes!: ('hash-chain' | 'matmul' | 'command')[];
}

export class SubmitResultDto {
  @ApiProperty() @IsString() @MaxLength(10_000) output!: string;
  @ApiProperty() @Matches(/^0x[0-9a-fA-F]{64}$/) resultHash!: string;
  @ApiProperty() @Matches(/^0x[0-9a-fA-F]{64}$/) proofHash!: string;
  @ApiProperty() @Matches(/^0x[0-9a-fA-F]{130}$/) signature!: string;
}

export class ListQueryDto {
  @ApiPropertyOptional({ example: 50, description: 'at most 100' }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit?: number;
  @ApiPropertyOptional({ description: 'the jobId to continue after' }) @IsOptional() @IsString() @MaxLength(128) cursor?: string;
}

export class PricesQueryDto {
  @ApiPropertyOptional({ example: 'A100', description: 'only this GPU class' }) @IsOptional() @IsString() @MaxLength(64) gpuModel?: string;
  @ApiPropertyOptional({ example: 'eu-west', description: 'only this region' }) @IsOptional() @IsString() @MaxLength(64) region?: string;
  @ApiPropertyOptional({ example: 50, description: 'at most 100' }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit?: number;
  @ApiPropertyOptional({ description: 'the nextCursor of the previous page' }) @IsOptional() @IsString() @MaxLength(300) cursor?: string;
}

export { IsNumberString };
