/**
 * `npm run doctor`: prints the host prerequisite report and exits 1 when a required check fails.
 */
import { doctor, failedRequired, formatDoctorReport } from './doctor/doctor.ts';

const checks = await doctor();
process.stdout.write(`${formatDoctorReport(checks)}\n`);
process.exitCode = failedRequired(checks).length > 0 ? 1 : 0;
