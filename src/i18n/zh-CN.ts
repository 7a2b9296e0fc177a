/** Simplified Chinese: the registry's default language. Every user-facing string lives here. */
const zh = {
  app: {
    name: '技术合同登记系统',
    agencyLine: '{{agency}} · 技术合同认定登记',
    skipToContent: '跳到主要内容',
    language: '语言',
    switchTo: 'English',
    menu: '菜单',
  },
  nav: {
    home: '首页',
    register: '公开登记簿',
    signIn: '登录',
    signUp: '机构注册',
    signOut: '退出',
    myContracts: '我的合同',
    reviewQueue: '审核队列',
    admin: '管理',
  },
  footer: {
    about: '技术合同认定登记依据《技术合同认定登记管理办法》办理。',
    openData: '开放数据接口',
    health: '系统状态',
  },
  home: {
    title: '本年度技术合同成交额',
    intro: '本市技术合同登记情况实时公开。年度目标：成交额突破 {{target}} 元。',
    placeholder: '登记统计将在第一份合同登记后显示。',
  },
  errors: {
    BAD_REQUEST: '请求格式有误。',
    UNAUTHENTICATED: '请先登录。',
    FORBIDDEN: '您没有执行此操作的权限。',
    NOT_FOUND: '找不到您要访问的页面或记录。',
    CONFLICT: '当前状态不允许此操作。',
    PAYLOAD_TOO_LARGE: '提交的内容过大。',
    UNSUPPORTED_MEDIA_TYPE: '不支持的文件或内容类型。',
    VALIDATION_FAILED: '提交的内容有误，请检查后重试。',
    RATE_LIMITED: '尝试次数过多，请稍后再试。',
    INTERNAL: '系统内部错误，请稍后再试。',
    UNAVAILABLE: '服务暂时不可用，请稍后再试。',
    pageTitle: '出错了',
    backHome: '返回首页',
    reference: '错误编号',
  },
};

export default zh;
export type Messages = typeof zh;
