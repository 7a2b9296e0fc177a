/** Registers every Mongoose model, so ensureIndexes() at boot sees them all. */
import './modules/accounts/user.model';
import './modules/system/heartbeat.model';
import './modules/accounts/token.model';
import './modules/organizations/organization.model';
import './modules/audit/audit.model';
import './lib/transitions';
import './modules/contracts/contract.model';
import './modules/registrations/registration.model';
import './modules/notifications/notification.model';
import './modules/turnover/turnover.model';
import './lib/migrations';
import './modules/contracts/request.model';
import './modules/imports/import.model';
import './modules/plan/plan.model';
import './modules/market/listing.model';
