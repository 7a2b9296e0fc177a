/** English. Must have exactly the keys of the Chinese messages (checked by the compiler). */
import type { Messages } from './zh-CN';

const en: Messages = {
  app: {
    name: 'Technology Contract Registry',
    agencyLine: '{{agency}} · Technology contract registration',
    skipToContent: 'Skip to main content',
    language: 'Language',
    switchTo: '中文',
    menu: 'Menu',
  },
  nav: {
    home: 'Home',
    register: 'Public register',
    signIn: 'Sign in',
    signUp: 'Register an organisation',
    signOut: 'Sign out',
    myContracts: 'My contracts',
    reviewQueue: 'Review queue',
    admin: 'Administration',
  },
  footer: {
    about: 'Technology contracts are registered under the national Measures for the Recognition and Registration of Technology Contracts.',
    openData: 'Open data API',
    health: 'System status',
  },
  home: {
    title: 'Technology contract turnover this year',
    intro: "The city's technology contract registrations, live and public. This year's target: turnover above {{target}} yuan.",
    placeholder: 'Statistics appear once the first contract is registered.',
  },
  errors: {
    BAD_REQUEST: 'The request is malformed.',
    UNAUTHENTICATED: 'Please sign in first.',
    FORBIDDEN: 'You are not allowed to do this.',
    NOT_FOUND: 'The page or record you asked for does not exist.',
    CONFLICT: 'This action is not possible in the current state.',
    PAYLOAD_TOO_LARGE: 'What you sent is too large.',
    UNSUPPORTED_MEDIA_TYPE: 'This file or content type is not supported.',
    VALIDATION_FAILED: 'Some of what you entered is not valid; please check and try again.',
    RATE_LIMITED: 'Too many attempts; please try again later.',
    INTERNAL: 'Something went wrong on our side; please try again later.',
    UNAVAILABLE: 'The service is temporarily unavailable; please try again shortly.',
    pageTitle: 'Something went wrong',
    backHome: 'Back to the homepage',
    reference: 'Reference',
  },
};

export default en;
