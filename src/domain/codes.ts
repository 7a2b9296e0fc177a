/** Code lists from the registration form (DOMAIN.md), with Chinese and English labels. */

export interface CodeLabel {
  zh: string;
  en: string;
}

export const ENTITY_NATURES = {
  '010': { zh: '机关法人', en: 'Government body' },
  '021': { zh: '科研机构', en: 'Research institute' },
  '022': { zh: '高等院校', en: 'University' },
  '023': { zh: '医疗卫生', en: 'Medical or health institution' },
  '024': { zh: '其他事业单位', en: 'Other public institution' },
  '030': { zh: '社会团体', en: 'Social organisation' },
  '110': { zh: '国有企业', en: 'State-owned enterprise' },
  '120': { zh: '集体企业', en: 'Collective enterprise' },
  '130': { zh: '股份合作', en: 'Joint-stock cooperative' },
  '140': { zh: '联营企业', en: 'Joint venture' },
  '150': { zh: '有限责任公司', en: 'Limited liability company' },
  '160': { zh: '股份有限公司', en: 'Joint-stock company' },
  '170': { zh: '私营企业', en: 'Private enterprise' },
  '180': { zh: '其他企业', en: 'Other enterprise' },
  '200': { zh: '港澳台商投资企业', en: 'Hong Kong, Macao or Taiwan-invested enterprise' },
  '300': { zh: '外商投资企业', en: 'Foreign-invested enterprise' },
  '400': { zh: '个人', en: 'Individual' },
} as const satisfies Record<string, CodeLabel>;

export type EntityNature = keyof typeof ENTITY_NATURES;
export const ENTITY_NATURE_CODES = Object.keys(ENTITY_NATURES) as [EntityNature, ...EntityNature[]];

/** Options for a select: value and the label in the page's language. */
export function codeOptions(list: Record<string, CodeLabel>, lang: string): { value: string; label: string }[] {
  return Object.entries(list).map(([value, l]) => ({ value, label: lang === 'en' ? l.en : l.zh }));
}

export function codeLabel(list: Record<string, CodeLabel>, code: string | null | undefined, lang: string): string {
  if (!code) return '';
  const l = list[code];
  return l ? (lang === 'en' ? l.en : l.zh) : code;
}

/** The five contract types (Civil Code) and their sub-types. */
export const CONTRACT_TYPES = {
  development: { zh: '技术开发', en: 'Technology development' },
  transfer: { zh: '技术转让', en: 'Technology transfer' },
  licensing: { zh: '技术许可', en: 'Technology licensing' },
  consulting: { zh: '技术咨询', en: 'Technology consulting' },
  service: { zh: '技术服务', en: 'Technology service' },
} as const satisfies Record<string, CodeLabel>;
export type ContractType = keyof typeof CONTRACT_TYPES;
export const CONTRACT_TYPE_CODES = Object.keys(CONTRACT_TYPES) as [ContractType, ...ContractType[]];

export const CONTRACT_SUBTYPES: Record<ContractType, Record<string, CodeLabel>> = {
  development: {
    commissioned: { zh: '委托开发', en: 'Commissioned development' },
    cooperative: { zh: '合作开发', en: 'Cooperative development' },
  },
  transfer: {
    patent: { zh: '专利权转让', en: 'Patent transfer' },
    patent_application: { zh: '专利申请权转让', en: 'Patent application right transfer' },
    technical_secret: { zh: '技术秘密转让', en: 'Technical secret transfer' },
    other: { zh: '其他', en: 'Other' },
  },
  licensing: {
    patent: { zh: '专利实施许可', en: 'Patent licence' },
    technical_secret: { zh: '技术秘密使用许可', en: 'Technical secret licence' },
    other: { zh: '其他', en: 'Other' },
  },
  consulting: {},
  service: {
    general: { zh: '一般技术服务', en: 'General technical service' },
    training: { zh: '技术培训', en: 'Technical training' },
    intermediary: { zh: '技术中介', en: 'Technology intermediary' },
  },
};

export const PAYMENT_METHODS = {
  lump_sum: { zh: '一次总付', en: 'Lump sum' },
  instalments: { zh: '分期支付', en: 'Instalments' },
  royalty: { zh: '提成支付', en: 'Royalty' },
  lump_sum_plus_royalty: { zh: '总付加提成', en: 'Lump sum plus royalty' },
  other: { zh: '其他', en: 'Other' },
} as const satisfies Record<string, CodeLabel>;

export const PLAN_SOURCES = {
  national: { zh: '国家计划', en: 'National plan' },
  provincial: { zh: '省级计划', en: 'Provincial plan' },
  municipal: { zh: '市级计划', en: 'Municipal plan' },
  none: { zh: '计划外', en: 'Outside any plan' },
} as const satisfies Record<string, CodeLabel>;

export const IP_TYPES = {
  invention_patent: { zh: '发明专利', en: 'Invention patent' },
  utility_model: { zh: '实用新型', en: 'Utility model' },
  design_patent: { zh: '外观设计', en: 'Design patent' },
  software_copyright: { zh: '计算机软件著作权', en: 'Software copyright' },
  ic_layout: { zh: '集成电路布图设计', en: 'IC layout design' },
  plant_variety: { zh: '植物新品种', en: 'New plant variety' },
  technical_secret: { zh: '技术秘密', en: 'Technical secret' },
  other: { zh: '其他', en: 'Other' },
  none: { zh: '未涉及知识产权', en: 'No intellectual property' },
} as const satisfies Record<string, CodeLabel>;

export const TECHNICAL_FIELDS = {
  electronic_information: { zh: '电子信息', en: 'Electronic information' },
  aerospace: { zh: '航空航天', en: 'Aerospace' },
  advanced_manufacturing: { zh: '先进制造', en: 'Advanced manufacturing' },
  biomedicine: { zh: '生物、医药和医疗器械', en: 'Biology, medicine and medical devices' },
  new_materials: { zh: '新材料及其应用', en: 'New materials and their application' },
  new_energy: { zh: '新能源与高效节能', en: 'New energy and energy efficiency' },
  environment: { zh: '环境保护与资源综合利用', en: 'Environmental protection and resource use' },
  nuclear: { zh: '核应用', en: 'Nuclear applications' },
  agriculture: { zh: '农业', en: 'Agriculture' },
  modern_transport: { zh: '现代交通', en: 'Modern transport' },
  urban_social: { zh: '城市建设与社会发展', en: 'Urban construction and social development' },
} as const satisfies Record<string, CodeLabel>;

/** NABS 2007 chapters, as used in R&D statistics (our choice for socio-economic objectives). */
export const OBJECTIVES = {
  earth: { zh: '地球探索与开发', en: 'Exploration and exploitation of the earth' },
  environment: { zh: '环境', en: 'Environment' },
  space: { zh: '太空探索与开发', en: 'Exploration and exploitation of space' },
  infrastructure: { zh: '交通、通信及其他基础设施', en: 'Transport, telecommunication and other infrastructures' },
  energy: { zh: '能源', en: 'Energy' },
  industry: { zh: '工业生产与技术', en: 'Industrial production and technology' },
  health: { zh: '卫生', en: 'Health' },
  agriculture: { zh: '农业', en: 'Agriculture' },
  education: { zh: '教育', en: 'Education' },
  culture: { zh: '文化、娱乐、宗教与大众传媒', en: 'Culture, recreation, religion and mass media' },
  social: { zh: '政治与社会制度、结构和进程', en: 'Political and social systems, structures and processes' },
  knowledge: { zh: '知识的普遍进步', en: 'General advancement of knowledge' },
  defence: { zh: '国防', en: 'Defence' },
} as const satisfies Record<string, CodeLabel>;

/** The city plan's ten priority areas (Xining 14th Five-Year S&T plan). */
export const PRIORITY_AREAS = {
  ecology: { zh: '生态环境保护', en: 'Ecological and environmental protection' },
  photovoltaic: { zh: '光伏制造', en: 'Photovoltaic manufacturing' },
  lithium_battery: { zh: '锂电产业', en: 'Lithium battery industry' },
  nonferrous_materials: { zh: '有色金属新材料', en: 'Nonferrous metal new materials' },
  chemical: { zh: '特色化工', en: 'Characteristic chemical industry' },
  biomedicine: { zh: '生物医药', en: 'Biomedicine' },
  digital_economy: { zh: '数字经济', en: 'Digital economy' },
  modern_agriculture: { zh: '现代农业', en: 'Modern agriculture' },
  life_health: { zh: '生命健康', en: 'Life and health' },
  livelihood: { zh: '民生保障', en: "People's livelihood security" },
} as const satisfies Record<string, CodeLabel>;

/** Non-technical costs deducted from the turnover to give the technical transaction amount. */
export const DEDUCTION_ITEMS = {
  equipment: { zh: '设备', en: 'Equipment' },
  instruments: { zh: '仪器', en: 'Instruments' },
  parts: { zh: '零部件', en: 'Parts' },
  raw_materials: { zh: '原材料', en: 'Raw materials' },
  other: { zh: '其他非技术性费用', en: 'Other non-technical costs' },
} as const satisfies Record<string, CodeLabel>;

/** The national list of refusal reasons (不予登记), by number; 9 is "other", with a stated reason. */
export const REFUSAL_REASON_TEXTS: Record<string, CodeLabel> = {
  '1': { zh: '合同无效或者尚未生效', en: 'The contract is invalid or not yet in effect' },
  '2': { zh: '不属于技术合同', en: 'Not a technology contract' },
  '3': { zh: '当事人、标的、价款或报酬等约定不明确', en: 'Parties, subject, price or fees are unclear' },
  '4': { zh: '应经有关部门审批而未审批', en: 'Required government approval is missing' },
  '5': { zh: '合同名称与内容不符且未更正', en: 'The name does not match the content and was not corrected' },
  '6': { zh: '含有非法垄断技术或限制技术竞争的条款', en: 'Illegal monopoly or restrictive clauses' },
  '7': { zh: '证明文件缺失或不当', en: 'Supporting documents missing or improper' },
  '8': { zh: '印章不全或与名称不符', en: 'Seals incomplete or not matching the names' },
  '9': { zh: '其他理由', en: 'Another reason' },
};

export const keysOf = <T extends Record<string, unknown>>(o: T) => Object.keys(o) as [keyof T & string, ...(keyof T & string)[]];
