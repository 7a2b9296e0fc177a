/** Registers every Mongoose model, so ensureIndexes() at boot sees them all. */
import './modules/accounts/user.model';
import './modules/system/heartbeat.model';
